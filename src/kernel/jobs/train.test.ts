// What keys a training job's run: which parameters are inputs (by hash or key), which are config.
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../core/version.ts';
import type { JobDefinition, RecipeContext } from '../job.ts';
import { dpoJob, dpoLogpsJob, sftJob, tttJob } from './train.ts';

const MODEL_DIR = join(projectRoot, 'src', 'model', 'fixtures', 'llama_gqa_bias');
const model = { kind: 'checkpoint', key: 'a'.repeat(32) };
const reference = { kind: 'checkpoint', key: 'b'.repeat(32) };

/** Files hash to `hash:NAME` and weigh 3,000 bytes; every artifact is the fixture model. */
const ctx: RecipeContext = {
  resolvePath: (path) => join('/notebooks', path),
  inputFile: async (path) => ({ path, sha256: `hash:${basename(path)}`, bytes: 3000 }),
  artifactDir: () => MODEL_DIR,
};

function recipeOf(job: JobDefinition, params: Record<string, unknown>) {
  return job.recipe(job.params.parse(params), ctx);
}

describe('training job recipes', () => {
  it('SFT: the model and data files are inputs, the knobs are config', async () => {
    const r = await recipeOf(sftJob, { model, data: 'sft.jsonl', lr: 1e-3, seed: 3 });
    expect(r.inputs).toEqual({ model: model.key, data: 'hash:sft.jsonl' });
    expect(r.config).toMatchObject({ lr: 1e-3, seed: 3 });
    for (const input of ['model', 'data', 'evalData']) expect(r.config).not.toHaveProperty(input);
    expect(r.seed).toBe(3);
    expect(r.files.map((f) => f.path)).toEqual(['/notebooks/sft.jsonl']);
  });

  it('DPO: a reference is an input by key, never config; without one there is none', async () => {
    const params = { model, data: 'dpo.jsonl', evalData: 'held.jsonl', beta: 0.2 };
    const withRef = await recipeOf(dpoJob, { ...params, reference });
    expect(withRef.inputs).toEqual({
      model: model.key,
      data: 'hash:dpo.jsonl',
      evalData: 'hash:held.jsonl',
      reference: reference.key,
    });
    expect(withRef.config).toMatchObject({ beta: 0.2, seed: 0 });
    for (const input of ['model', 'data', 'evalData', 'reference'])
      expect(withRef.config).not.toHaveProperty(input);
    const without = await recipeOf(dpoJob, params);
    expect(without.inputs).not.toHaveProperty('reference');
    expect(without.config).toEqual(withRef.config);
  });

  it('TTT: the benchmark then the index are files, and harness does not key the run', async () => {
    const params = { model, bench: 'eval.jsonl', index: 'pretrain.jsonl', k: 2, seed: 1 };
    const r = await recipeOf(tttJob, params);
    expect(r.files.map((f) => basename(f.path))).toEqual(['eval.jsonl', 'pretrain.jsonl']);
    expect(r.inputs).toEqual({
      model: model.key,
      bench: 'hash:eval.jsonl',
      index: 'hash:pretrain.jsonl',
    });
    expect(r.config).not.toHaveProperty('harness');
    const workbench = await recipeOf(tttJob, { ...params, harness: 'workbench' });
    expect(workbench.config).toEqual(r.config);
  });

  it('dpo.logps: seed 0, its limits are config', async () => {
    const r = await recipeOf(dpoLogpsJob, { model, data: 'dpo.jsonl', limit: 5 });
    expect(r).toMatchObject({ seed: 0, config: { limit: 5 }, inputs: { data: 'hash:dpo.jsonl' } });
  });

  it("estimates a DPO pass at 2.5 SFT passes (policy forward and backward, and the reference's)", async () => {
    const params = { model, data: 'rows.jsonl', epochs: 2 };
    const cost = async (job: JobDefinition) => {
      const parsed = job.params.parse(params);
      return job.estimate(parsed, await job.recipe(parsed, ctx)).seconds - 2;
    };
    expect(await cost(dpoJob)).toBeCloseTo(2.5 * (await cost(sftJob)), 10);
    expect(await cost(sftJob)).toBeGreaterThan(0);
  });
});
