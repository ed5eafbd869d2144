import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Graph } from './graph.ts';
import { mul } from './ops-math.ts';
import { matmul } from './ops-nn.ts';
import { ParamSet } from './params.ts';
import {
  cachedSessionCount,
  cudaInstalled,
  CudaUnavailableError,
  modelBytes,
  openOrtSession,
  OrtTensorClass,
  ProviderUnavailableError,
  providerFromEnv,
  Session,
  WebGpuUnavailableError,
} from './session.ts';
import { feed } from './testing.ts';

function scaleGraph(factor: number): Graph {
  const g = new Graph();
  g.output(mul(g.input('x', 'float32', [2]), factor), 'y');
  return g;
}

// Debian 12's software Vulkan (lavapipe) is refused by Dawn, so on a machine without a GPU ORT
// refuses WebGPU: on a machine with one, the session is real and these tests are skipped.
const webgpuWorks = await Session.create(scaleGraph(9), { threads: 1, provider: 'webgpu' }).then(
  async (s) => (await s.dispose(), true),
  () => false,
);

describe('Session', () => {
  it('create(graph) compiles once per graph signature and reuses the cache', async () => {
    const first = await Session.create(scaleGraph(3), { threads: 1 });
    const again = await Session.create(scaleGraph(3), { threads: 1 });
    const other = await Session.create(scaleGraph(4), { threads: 1 });
    expect(first.cached).toBe(false);
    expect(again.cached).toBe(true);
    expect(again.modelHash).toBe(first.modelHash);
    expect(other.modelHash).not.toBe(first.modelHash);
    const before = cachedSessionCount();
    await first.dispose();
    expect(cachedSessionCount()).toBe(before);
    await again.dispose();
    expect(cachedSessionCount()).toBe(before - 1);
    await other.dispose();
  });

  it.skipIf(cudaInstalled())(
    "create(graph, {provider: 'cuda'}) explains how to install CUDA, or falls back when allowed",
    async () => {
      await expect(Session.create(scaleGraph(5), { provider: 'cuda' })).rejects.toThrow(
        CudaUnavailableError,
      );
      await expect(Session.create(scaleGraph(5), { provider: 'cuda' })).rejects.toThrow(
        'npx finemed install-cuda',
      );
      const s = await Session.create(scaleGraph(5), { provider: 'cuda', allowCpuFallback: true });
      expect(s.provider).toBe('cpu');
      const out = await s.run({ x: feed('float32', [1, 2], [2]) });
      expect(Array.from(out.y.data as Float32Array)).toEqual([5, 10]);
      await s.dispose();
    },
  );

  it.skipIf(cudaInstalled())(
    "openOrtSession(bytes, 'cuda') turns ORT's failure to start CUDA into the install hint, or CPU when allowed",
    async () => {
      // Past the library check: ORT itself refuses CUDA, as it does on a machine with the
      // libraries installed but no driver or device.
      const { bytes } = modelBytes(scaleGraph(6));
      await expect(openOrtSession(bytes, 'cuda', { threads: 1 })).rejects.toThrow(
        /npx finemed install-cuda.*\(.*Cuda.*\)/,
      );
      const { session, provider } = await openOrtSession(bytes, 'cuda', {
        threads: 1,
        allowCpuFallback: true,
      });
      expect(provider).toBe('cpu');
      const out = await session.run({ x: feed('float32', [1, 2], [2]) });
      expect(Array.from(out.y.data as Float32Array)).toEqual([6, 12]);
      await session.release();
    },
  );

  it('providerFromEnv(env) reads FINEMED_PROVIDER and FINEMED_CPU_FALLBACK, rejecting other providers', () => {
    expect(providerFromEnv({})).toEqual({ provider: 'cpu', allowCpuFallback: false });
    expect(providerFromEnv({ FINEMED_PROVIDER: 'cuda', FINEMED_CPU_FALLBACK: '1' })).toEqual({
      provider: 'cuda',
      allowCpuFallback: true,
    });
    expect(providerFromEnv({ FINEMED_PROVIDER: 'webgpu' })).toEqual({
      provider: 'webgpu',
      allowCpuFallback: false,
    });
    expect(() => providerFromEnv({ FINEMED_PROVIDER: 'gpu' })).toThrow(
      /FINEMED_PROVIDER must be one of cpu, cuda, webgpu, got 'gpu'/,
    );
  });

  it.skipIf(webgpuWorks)(
    "create(graph, {provider: 'webgpu'}) fails with ORT's reason, or falls back to CPU when allowed",
    async () => {
      const refused = Session.create(scaleGraph(8), { threads: 1, provider: 'webgpu' });
      await expect(refused).rejects.toThrow(WebGpuUnavailableError);
      await expect(refused).rejects.toThrow(
        /WebGPU execution provider is not available: .*FINEMED_CPU_FALLBACK=1.* \(.*webgpu.*adapter.*\)$/is,
      );
      await expect(refused).rejects.toMatchObject({ provider: 'webgpu' });
      const s = await Session.create(scaleGraph(8), {
        threads: 1,
        provider: 'webgpu',
        allowCpuFallback: true,
      });
      expect(s.provider).toBe('cpu');
      const out = await s.run({ x: feed('float32', [1, 2], [2]) });
      expect(Array.from(out.y.data as Float32Array)).toEqual([8, 16]);
      await s.dispose();
    },
  );

  it.skipIf(webgpuWorks)(
    'create(graph) without a provider follows FINEMED_PROVIDER=webgpu and FINEMED_CPU_FALLBACK=1',
    async () => {
      const saved = { ...process.env };
      try {
        process.env.FINEMED_PROVIDER = 'webgpu';
        delete process.env.FINEMED_CPU_FALLBACK;
        await expect(Session.create(scaleGraph(10), { threads: 1 })).rejects.toThrow(
          ProviderUnavailableError,
        );
        process.env.FINEMED_CPU_FALLBACK = '1';
        const fallback = await Session.create(scaleGraph(10), { threads: 1 });
        expect(fallback.provider).toBe('cpu');
        await fallback.dispose();
      } finally {
        for (const k of ['FINEMED_PROVIDER', 'FINEMED_CPU_FALLBACK'] as const) {
          if (saved[k] === undefined) delete process.env[k];
          else process.env[k] = saved[k];
        }
      }
    },
  );

  it.skipIf(cudaInstalled())(
    'create(graph) without a provider follows FINEMED_PROVIDER=cuda; explicit options win',
    async () => {
      const saved = { ...process.env };
      try {
        process.env.FINEMED_PROVIDER = 'cuda';
        delete process.env.FINEMED_CPU_FALLBACK;
        await expect(Session.create(scaleGraph(7), { threads: 1 })).rejects.toThrow(
          CudaUnavailableError,
        );
        const cpu = await Session.create(scaleGraph(7), { threads: 1, provider: 'cpu' });
        expect(cpu.provider).toBe('cpu');
        await cpu.dispose();
        process.env.FINEMED_CPU_FALLBACK = '1';
        const fallback = await Session.create(scaleGraph(7), { threads: 1 });
        expect(fallback.provider).toBe('cpu');
        await fallback.dispose();
      } finally {
        process.env.FINEMED_PROVIDER = saved.FINEMED_PROVIDER;
        process.env.FINEMED_CPU_FALLBACK = saved.FINEMED_CPU_FALLBACK;
        if (saved.FINEMED_PROVIDER === undefined) delete process.env.FINEMED_PROVIDER;
        if (saved.FINEMED_CPU_FALLBACK === undefined) delete process.env.FINEMED_CPU_FALLBACK;
      }
    },
  );

  it('spinning: false is cached apart from the default and computes the same', async () => {
    const spinning = await Session.create(scaleGraph(5), { threads: 2 });
    const quiet = await Session.create(scaleGraph(5), { threads: 2, spinning: false });
    expect(quiet.cached).toBe(false);
    const again = await Session.create(scaleGraph(5), { threads: 2, spinning: false });
    expect(again.cached).toBe(true);
    const x = { x: new OrtTensorClass('float32', Float32Array.from([1, -2]), [2]) };
    expect((await quiet.run(x)).y.data).toEqual(Float32Array.from([5, -10]));
    expect((await quiet.run(x)).y.data).toEqual((await spinning.run(x)).y.data);
    await Promise.all([spinning, quiet, again].map((s) => s.dispose()));
  });

  it('run(feeds, {name: tensor}) writes outputs into pre-allocated views of an arena', async () => {
    const g = new Graph();
    const w = g.param('w', [2, 2]);
    g.output(matmul(w, w), 'sq');
    const params = ParamSet.fromGraph(g);
    params.view('w').set([1, 2, 3, 4]);
    const arena = ParamSet.zerosLike(params);
    const target = new OrtTensorClass('float32', arena.view('w'), [2, 2]);
    const s = await Session.create(g, { threads: 1 });
    await s.run(params.feeds(), { sq: target });
    expect(Array.from(arena.view('w'))).toEqual([7, 10, 15, 22]);
    await s.dispose();
  });

  it('works inside a worker thread', async () => {
    const index = fileURLToPath(new URL('./index.ts', import.meta.url));
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { register } = await import('tsx/esm/api');
        register();
        const e = await import(workerData.index);
        const g = new e.Graph();
        g.output(e.mul(g.input('x', 'float32', [3]), 2), 'y');
        const s = await e.Session.create(g, { threads: 1 });
        const out = await s.run({ x: new e.OrtTensorClass('float32', new Float32Array([1, 2, 3]), [3]) });
        parentPort.postMessage(Array.from(out.y.data));
      })().catch((err) => parentPort.postMessage(String(err)));`;
    const worker = new Worker(code, { eval: true, workerData: { index } });
    const result = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(result).toEqual([2, 4, 6]);
  });
});
