import { copyFileSync, mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AdamW, gradNorm, ParamSet } from '../engine/index.ts';
import { CausalLM, loadModel } from '../model/causal-lm.ts';
import { mergeLora } from '../model/lora.ts';
import type { EncodedRow } from './encode.ts';
import { LmLoss } from './lm-loss.ts';
import { saveTrainedModel } from './output.ts';
import { prepareLora } from './stage.ts';

const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'model', 'fixtures');
const folder = join(fixtures, 'llama_gqa_bias');
const session = { threads: 1 };
const open: CausalLM[] = [];
afterEach(async () => {
  for (const m of open.splice(0)) await m.dispose();
});

async function load(dir = folder): Promise<CausalLM> {
  const model = await loadModel(dir, { session });
  open.push(model);
  return model;
}

/** The same model with its weights copied into a set that knows no source: nothing is released. */
function held(model: CausalLM): CausalLM {
  const params = new ParamSet(model.params.entries);
  params.copyFrom(model.params);
  const copy = new CausalLM(model.config, params, model.tokenizer, model.rawConfig, session);
  open.push(copy);
  return copy;
}

function rows(vocab: number): EncodedRow[] {
  return [1, 2].map((seed) => {
    const ids = Array.from({ length: 10 }, (_, i) => (i * 37 + seed * 11) % vocab);
    return { ids, mask: new Uint8Array(ids.length).fill(1), source: { file: 'test', line: seed } };
  });
}

/** Losses and gradient arenas of `steps` clipped AdamW steps, as bench model's lora phase runs them. */
async function train(model: CausalLM, steps: number): Promise<[number[], Float32Array[]]> {
  await prepareLora(model, { r: 4 }, 3);
  const loss = await LmLoss.create(model, { session });
  const optimizer = new AdamW(model.params, { lr: 1e-2 });
  const losses: number[] = [];
  const grads: Float32Array[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const r = await loss.forwardBackward(rows(model.config.vocabSize));
      losses.push(r.lossSum);
      grads.push(loss.step.grads.data.slice());
      const norm = gradNorm(loss.step.grads, model.params) / r.weight;
      optimizer.step(loss.step.grads, { gradScale: Math.min(1, 1 / (norm + 1e-6)) / r.weight });
    }
  } finally {
    await loss.dispose();
  }
  return [losses, grads];
}

describe('prepareLora: the base stays in the sessions, not in JS', () => {
  it('LoRA steps on a released base give bit-identical losses and gradients, and never re-read it', async () => {
    const model = await load();
    const reference = held(model);
    const [losses, grads] = await train(model, 3);
    const [wantLosses, wantGrads] = await train(reference, 3);
    expect(model.params.releasedParams).toBe(
      model.params.entries.filter((e) => !e.trainable).length,
    );
    expect(reference.params.releasedParams).toBe(0);
    expect(losses).toEqual(wantLosses);
    expect(new Set(losses).size).toBe(3);
    grads.forEach((g, i) => expect(g).toEqual(wantGrads[i]));
  });

  it('inference on a released base gives identical logits; a JS read re-reads it from the folder', async () => {
    const model = await load();
    const reference = held(model);
    for (const m of [model, reference]) await prepareLora(m, { r: 2 }, 1);
    for (const m of [model, reference])
      m.params.fill('model.layers.0.self_attn.q_proj.lora_B.weight', 0.25);
    const ids = [[3, 14, 15, 9, 26, 5]];
    expect((await model.logits(ids)).data).toEqual((await reference.logits(ids)).data);
    expect(model.params.releasedParams).toBeGreaterThan(0);
    const name = 'model.layers.1.mlp.down_proj.weight';
    expect(model.params.view(name)).toEqual(reference.params.view(name));
    expect(model.params.releasedParams).toBe(0);
  });

  it('saving a trained model merges adapters into a released base without taking it back into the model', async () => {
    const model = await load();
    const reference = held(model);
    for (const m of [model, reference]) {
      await prepareLora(m, { r: 2 }, 1);
      m.params.fill('model.layers.0.mlp.up_proj.lora_B.weight', 0.25);
    }
    await model.logits([[1, 2, 3]]); // the session holds the base: it is released
    const released = model.params.releasedParams;
    expect(released).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'finemed-merged-'));
    await saveTrainedModel(model, dir);
    expect(model.params.releasedParams).toBe(released);
    await mergeLora(reference);
    const merged = await load(dir);
    for (const e of reference.params.entries)
      expect(merged.params.view(e.name), e.name).toEqual(reference.params.view(e.name));
  });

  it('frees the loaded arena when the adapters attach; the old set then fails naming the operation', async () => {
    const saved = ParamSet.releasableBytes;
    ParamSet.releasableBytes = 0;
    try {
      const model = await load();
      const base = model.params;
      await prepareLora(model, { r: 2 }, 1);
      expect(() => base.view('model.norm.weight')).toThrow(
        "ParamSet.view('model.norm.weight'): this parameter set's arena was freed (LoRA adapters were attached: the model has a new parameter set)",
      );
    } finally {
      ParamSet.releasableBytes = saved;
    }
  });

  it('a folder rewritten after loading is not re-read: the error names the operation and the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finemed-release-'));
    for (const f of ['config.json', 'model.safetensors'])
      copyFileSync(join(folder, f), join(dir, f));
    const model = await load(dir);
    await prepareLora(model, { r: 2 }, 1);
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'model.safetensors'), later, later);
    // Re-reading goes in layout order: the first released weight is the one that fails.
    expect(() => model.params.view('model.norm.weight')).toThrow(
      `ParamSet.view('model.norm.weight'): 'model.embed_tokens.weight' was released (held by the sessions only) and re-reading it from ${dir} failed: ${join(dir, 'model.safetensors')}: model.embed_tokens.weight: the file changed since the model was loaded from it`,
    );
    await expect(model.logits([[1, 2, 3]])).rejects.toThrow(
      /^ParamSet.files: .*changed since the model was loaded/,
    );
  });
});
