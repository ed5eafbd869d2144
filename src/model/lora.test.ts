import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { Graph, Session } from '../engine/index.ts';
import { loadModel, type CausalLM } from './causal-lm.ts';
import { buildDecoder } from './decoder.ts';
import { int64Matrix } from './feeds.ts';
import { attachLora, loadLora, mergeLora, saveLora } from './lora.ts';

const fixture = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'llama_gqa_bias');
const ids = [[3, 14, 15, 9, 26, 5, 35]];
const open: CausalLM[] = [];
const load = async (): Promise<CausalLM> => {
  const m = await loadModel(fixture, { session: { threads: 1 } });
  open.push(m);
  return m;
};
afterEach(async () => {
  for (const m of open.splice(0)) await m.dispose();
});

/** Gives every B matrix random values so the adapters change the output. */
function randomizeB(model: CausalLM, seed: number): void {
  const rng = new Rng(seed);
  for (const e of model.params.entries)
    if (e.name.endsWith('lora_B.weight')) rng.fillNormal(model.params.view(e.name), 0.2);
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('LoRA', () => {
  it('zero-initialised B leaves the logits exactly as the base model', async () => {
    const model = await load();
    const base = (await model.logits(ids)).data;
    await attachLora(model, {
      r: 4,
      alpha: 8,
      targetModules: ['q_proj', 'v_proj', 'down_proj'],
      seed: 1,
    });
    expect((await model.logits(ids)).data).toEqual(base);
  });

  it('only adapter weights are trainable, in the ParamSet and in a training graph', async () => {
    const model = await load();
    await attachLora(model, { r: 2, alpha: 4, dropout: 0.1, targetModules: ['o_proj'] });
    const trainable = model.params.entries.filter((e) => e.trainable).map((e) => e.name);
    expect(trainable).toEqual([
      'model.layers.0.self_attn.o_proj.lora_A.weight',
      'model.layers.0.self_attn.o_proj.lora_B.weight',
      'model.layers.1.self_attn.o_proj.lora_A.weight',
      'model.layers.1.self_attn.o_proj.lora_B.weight',
    ]);
    const g = new Graph();
    buildDecoder(
      g,
      model.config,
      { inputIds: g.input('ids', 'int64', ['B', 'T']) },
      { ...model.decoderOptions(), training: true },
    );
    expect(g.params.filter((p) => p.trainable).map((p) => p.name)).toEqual(trainable);
    expect(g.nodes.filter((n) => n.op === 'Dropout')).toHaveLength(2);
  });

  it('training graphs apply adapter dropout: masks change per run and restart with a new session', async () => {
    const model = await load();
    await attachLora(model, { r: 2, alpha: 4, dropout: 0.5, targetModules: ['o_proj'] });
    randomizeB(model, 9);
    const plain = (await model.logits(ids)).data;
    const run = async (): Promise<Float32Array[]> => {
      const g = new Graph();
      const out = buildDecoder(
        g,
        model.config,
        { inputIds: g.input('ids', 'int64', ['B', 'T']) },
        {
          ...model.decoderOptions(),
          training: true,
          dropoutSeed: 11,
        },
      );
      g.output(out.logits!, 'logits');
      const session = await Session.create(g, { threads: 1 });
      const feeds = { ids: int64Matrix(ids), ...model.params.feeds(g.params.map((p) => p.name)) };
      const first = (await session.run(feeds)).logits.data as Float32Array;
      const second = (await session.run(feeds)).logits.data as Float32Array;
      await session.dispose();
      return [first, second];
    };
    const [a1, a2] = await run();
    expect(maxAbsDiff(a1, plain)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(a1, a2)).toBeGreaterThan(1e-3);
    const [b1] = await run();
    expect(b1).toEqual(a1);
  });

  it('merging gives the same logits as the unmerged adapters', async () => {
    const model = await load();
    const base = (await model.logits(ids)).data;
    await attachLora(model, {
      r: 4,
      alpha: 16,
      targetModules: ['q_proj', 'k_proj', 'gate_proj', 'down_proj'],
      seed: 2,
    });
    randomizeB(model, 3);
    const adapted = (await model.logits(ids)).data;
    expect(maxAbsDiff(adapted, base)).toBeGreaterThan(0.1);
    await mergeLora(model);
    expect(model.lora).toBeUndefined();
    expect(model.params.entries.every((e) => e.trainable && !e.name.includes('lora'))).toBe(true);
    expect(maxAbsDiff((await model.logits(ids)).data, adapted)).toBeLessThan(1e-4);
  });

  it('saves in PEFT layout and loads back onto a fresh base with identical logits', async () => {
    const model = await load();
    await attachLora(model, {
      r: 3,
      alpha: 6,
      targetModules: ['v_proj', 'up_proj'],
      useRslora: true,
      seed: 4,
    });
    randomizeB(model, 5);
    const adapted = (await model.logits(ids)).data;
    const dir = mkdtempSync(join(tmpdir(), 'finemed-lora-'));
    await saveLora(model, dir);
    const fresh = await load();
    await loadLora(fresh, dir);
    expect(fresh.lora!.config).toMatchObject({
      r: 3,
      alpha: 6,
      useRslora: true,
      targetModules: ['v_proj', 'up_proj'],
    });
    expect((await fresh.logits(ids)).data).toEqual(adapted);
  });

  it('rejects targets that match nothing', async () => {
    const model = await load();
    await expect(attachLora(model, { r: 2, alpha: 2, targetModules: ['c_attn'] })).rejects.toThrow(
      /target_modules: no linear layer matches \["c_attn"\]/,
    );
  });
});
