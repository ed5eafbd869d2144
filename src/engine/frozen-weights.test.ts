import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { SGD } from './sgd.ts';
import { Graph } from './graph.ts';
import { add, mul } from './ops-math.ts';
import { matmul, reduceSum } from './ops-nn.ts';
import { ParamSet } from './params.ts';
import { modelBytes, Session } from './session.ts';
import { feed } from './testing.ts';
import type { FrozenWeights } from './weights.ts';
import { TrainingStep } from './train-step.ts';

/** y = x @ w1 @ w2 + b, with w1 and w2 frozen (session-held) or fed as inputs. */
function mlp(frozen: boolean): Graph {
  const g = new Graph();
  const x = g.input('x', 'float32', ['B', 8]);
  const w1 = g.param('w1', [8, 16], { frozen, trainable: false });
  const w2 = g.param('w2', [16, 4], { frozen, trainable: false });
  const b = g.param('b', [4]);
  g.output(add(matmul(matmul(x, w1), w2), b), 'y');
  return g;
}

function weights(seed: number): ParamSet {
  const p = ParamSet.fromGraph(mlp(false));
  const rng = new Rng(seed);
  for (const e of p.entries) p.fillNormal(e.name, rng, 0.5);
  return p;
}

const x = feed(
  'float32',
  Array.from({ length: 24 }, (_, i) => Math.sin(i)),
  [3, 8],
);

async function run(s: Session, p: ParamSet, fed: readonly string[]): Promise<number[]> {
  const out = await s.run({ x, ...p.feeds(fed) });
  return Array.from(out.y.data as Float32Array);
}

describe('frozen weights as session initializers', () => {
  it('give the same outputs as weights fed as inputs, and only non-frozen parameters are inputs', async () => {
    const p = weights(1);
    const asInputs = await Session.create(mlp(false), { threads: 1 });
    const held = await Session.create(mlp(true), { threads: 1, weights: p });
    expect(held.inputNames).toEqual(['x', 'b']);
    const want = await run(asInputs, p, ['w1', 'w2', 'b']);
    const got = await run(held, p, ['b']);
    for (let i = 0; i < want.length; i++)
      expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-6);
    await asInputs.dispose();
    await held.dispose();
  });

  it('keep the model proto small: the weight bytes stay out of it', () => {
    const g = new Graph();
    const w = g.param('w', [512, 512], { frozen: true });
    g.output(matmul(g.input('x', 'float32', ['B', 512]), w), 'y');
    const p = ParamSet.fromGraph(g);
    expect(p.entry('w').trainable).toBe(false);
    expect(modelBytes(g, p).bytes.length).toBeLessThan(1000);
  });

  it('are copied at creation: later writes never reach the session, and tracked writes make it refuse to run', async () => {
    const p = weights(2);
    const s = await Session.create(mlp(true), { threads: 1, weights: p });
    const before = await run(s, p, ['b']);
    p.view('w1').fill(0); // an untracked write: ORT holds its own copy
    expect(await run(s, p, ['b'])).toEqual(before);
    p.fill('w2', 0);
    await expect(run(s, p, ['b'])).rejects.toThrow(
      /frozen weights changed since this session copied them \(params#\d+@\d+, now params#\d+@\d+\): create a new session/,
    );
    const fresh = await Session.create(mlp(true), { threads: 1, weights: p });
    expect(fresh.cached).toBe(false);
    const b = Array.from(p.view('b'));
    expect(await run(fresh, p, ['b'])).toEqual([...b, ...b, ...b]);
    await s.dispose();
    await fresh.dispose();
  });

  it('share a cached session for the same weights only', async () => {
    const p = weights(3);
    const q = weights(3);
    const a = await Session.create(mlp(true), { threads: 1, weights: p });
    const again = await Session.create(mlp(true), { threads: 1, weights: p });
    const other = await Session.create(mlp(true), { threads: 1, weights: q });
    expect(again.cached).toBe(true);
    expect(other.cached).toBe(false);
    await Promise.all([a.dispose(), again.dispose(), other.dispose()]);
  });

  it('stay valid across optimizer steps on trainable parameters and a restored snapshot', async () => {
    const p = weights(4);
    const snap = p.snapshot();
    const s = await Session.create(mlp(true), { threads: 1, weights: p });
    const grads = ParamSet.zerosLike(p);
    grads.fill('b', 1);
    new SGD(p, { lr: 0.5 }).step(grads);
    expect(await run(s, p, ['b'])).toHaveLength(12);
    p.fill('w1', 3);
    p.restore(snap);
    expect(await run(s, p, ['b'])).toHaveLength(12);
    await s.dispose();
  });

  it('come from several in-memory files when the arena is larger than one file may be', async () => {
    const saved = ParamSet.weightsFileBytes;
    ParamSet.weightsFileBytes = 600; // w1 (512 B) alone, then w2 (256 B) and b
    try {
      const p = weights(10);
      expect(p.files().map((f) => [f.path, f.data.byteLength])).toEqual([
        ['finemed-weights-0.bin', 512],
        ['finemed-weights-1.bin', 320],
      ]);
      expect(p.locate('w2')).toMatchObject({ file: 'finemed-weights-1.bin', byteOffset: 0 });
      expect(p.locate('b')).toMatchObject({ file: 'finemed-weights-1.bin', byteOffset: 256 });
      const held = await Session.create(mlp(true), { threads: 1, weights: p });
      const ref = await Session.create(mlp(false), { threads: 1 });
      expect(await run(held, p, ['b'])).toEqual(await run(ref, p, ['w1', 'w2', 'b']));
      await Promise.all([held.dispose(), ref.dispose()]);
    } finally {
      ParamSet.weightsFileBytes = saved;
    }
  });

  it('must be passed: a graph with frozen parameters and no weights names the parameter', async () => {
    await expect(Session.create(mlp(true), { threads: 1 })).rejects.toThrow(
      /has frozen parameters \(w1, \.\.\.\): pass their values as Session.create's weights/,
    );
    const small = new ParamSet([{ name: 'w1', shape: [8, 16] }]);
    await expect(Session.create(mlp(true), { threads: 1, weights: small })).rejects.toThrow(
      /have no frozen parameter 'w2'/,
    );
  });
});

/** The same values stored as bfloat16 (the float32 values' top halves, exact for these). */
function asBf16(p: ParamSet): FrozenWeights {
  const bits = new Uint32Array(p.data.buffer, p.data.byteOffset, p.data.length);
  const half = Uint16Array.from(bits, (b) => b >>> 16);
  return {
    weightsKey: () => 'bf16-test',
    files: () => [{ path: 'half.bin', data: new Uint8Array(half.buffer) }],
    locate: (name) => {
      const e = p.entries.find((x) => x.name === name);
      return e && { file: 'half.bin', dtype: 'bfloat16', byteOffset: e.offset * 2, shape: e.shape };
    },
  };
}

describe('frozen weights stored as bfloat16', () => {
  it('are widened by a Cast ORT folds, giving the float32 results bit for bit', async () => {
    const p = weights(7);
    const bits = new Uint32Array(p.data.buffer);
    for (let i = 0; i < bits.length; i++) bits[i] &= 0xffff0000; // bf16-representable
    const f32 = await Session.create(mlp(true), { threads: 1, weights: p });
    const bf16 = await Session.create(mlp(true), { threads: 1, weights: asBf16(p) });
    expect(await run(bf16, p, ['b'])).toEqual(await run(f32, p, ['b']));
    await Promise.all([f32.dispose(), bf16.dispose()]);
  });
});

describe('prepack: true', () => {
  it('compiles a separate session computing the same outputs', async () => {
    const p = weights(8);
    const packed = await Session.create(mlp(true), { threads: 1, weights: p, prepack: true });
    const plain = await Session.create(mlp(true), { threads: 1, weights: p });
    expect(plain.cached).toBe(false);
    expect(await run(plain, p, ['b'])).toEqual(await run(packed, p, ['b']));
    await Promise.all([packed.dispose(), plain.dispose()]);
  });
});

describe('TrainingStep with a frozen base (LoRA)', () => {
  /** loss = sum((x @ (w + a @ bb))^2) with base w frozen or a non-trainable input. */
  function lora(frozen: boolean): { g: Graph; loss: ReturnType<typeof reduceSum> } {
    const g = new Graph();
    const xin = g.input('x', 'float32', ['B', 8]);
    const w = g.param('w', [8, 6], { frozen, trainable: false });
    const a = g.param('lora_A', [8, 2]);
    const bb = g.param('lora_B', [2, 6]);
    const y = add(matmul(xin, w), matmul(matmul(xin, a), bb));
    return { g, loss: reduceSum(mul(y, y), [0, 1], { keepdims: false }) };
  }

  it('feeds only the adapters and computes the same loss and gradients', async () => {
    const ref = lora(false);
    const params = ParamSet.fromGraph(ref.g);
    const rng = new Rng(5);
    for (const e of params.entries) params.fillNormal(e.name, rng, 0.3);
    const inputs = await TrainingStep.create(ref.g, ref.loss, params, { threads: 1 });
    const held = lora(true);
    const step = await TrainingStep.create(held.g, held.loss, params, { threads: 1 });
    expect([...step.session.inputNames].sort()).toEqual(['lora_A', 'lora_B', 'x']);
    const r1 = await inputs.run({ x });
    const gradA = Array.from(inputs.grads.view('lora_A'));
    const gradB = Array.from(inputs.grads.view('lora_B'));
    const r2 = await step.run({ x });
    expect(Math.abs(r2.loss - r1.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(r1.loss));
    const close = (got: Float32Array, want: number[]): void =>
      want.forEach((v, i) =>
        expect(Math.abs(got[i] - v)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(v))),
      );
    close(step.grads.view('lora_A'), gradA);
    close(step.grads.view('lora_B'), gradB);
    await inputs.dispose();
    await step.dispose();
  });

  it('takes the base from options.weights, so the adapters can live in a ParamSet of their own', async () => {
    const { g, loss } = lora(true);
    const base = new ParamSet([{ name: 'w', shape: [8, 6], trainable: false }]);
    const adapters = new ParamSet([
      { name: 'lora_A', shape: [8, 2] },
      { name: 'lora_B', shape: [2, 6] },
    ]);
    const rng = new Rng(9);
    base.fillNormal('w', rng, 0.3);
    adapters.fillNormal('lora_A', rng, 0.3);
    adapters.fillNormal('lora_B', rng, 0.3);
    const step = await TrainingStep.create(g, loss, adapters, { threads: 1, weights: base });
    const ref = lora(false);
    const all = ParamSet.fromGraph(ref.g);
    all.copyFrom(base);
    all.copyFrom(adapters);
    const refStep = await TrainingStep.create(ref.g, ref.loss, all, { threads: 1 });
    const [got, want] = [await step.run({ x }), await refStep.run({ x })];
    expect(Math.abs(got.loss - want.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(want.loss));
    expect(step.grads.data.length).toBe(adapters.data.length);
    await Promise.all([step.dispose(), refStep.dispose()]);
  });

  it('refuses a frozen graph parameter that the ParamSet marks trainable', async () => {
    const { g, loss } = lora(true);
    const params = new ParamSet([
      { name: 'w', shape: [8, 6] },
      { name: 'lora_A', shape: [8, 2] },
      { name: 'lora_B', shape: [2, 6] },
    ]);
    await expect(TrainingStep.create(g, loss, params, { threads: 1 })).rejects.toThrow(
      /'w' is frozen in the graph but trainable in the ParamSet/,
    );
  });
});

describe('Graph.freeze', () => {
  it('turns declared parameters into frozen ones after the graph is built', async () => {
    const p = weights(6);
    const g = mlp(false).freeze((d) => d.name.startsWith('w'));
    expect(g.params.map((d) => [d.name, d.frozen, d.trainable])).toEqual([
      ['w1', true, false],
      ['w2', true, false],
      ['b', false, true],
    ]);
    const s = await Session.create(g, { threads: 1, weights: p });
    expect(s.inputNames).toEqual(['x', 'b']);
    const ref = await Session.create(mlp(false), { threads: 1 });
    expect(await run(s, p, ['b'])).toEqual(await run(ref, p, ['w1', 'w2', 'b']));
    await Promise.all([s.dispose(), ref.dispose()]);
  });
});
