import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../core/artifacts.ts';
import { InputError } from '../../core/errors.ts';
import { projectRoot } from '../../core/version.ts';
import { MODEL_PRESETS } from '../../model/init.ts';
import { Kernel } from '../kernel.ts';
import type { ArtifactRef, JobEvent } from '../protocol.ts';
import { defaultJobs } from './index.ts';
import { MODEL_PRESET_NAMES } from './model.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-jobs-'));
const corpus = join(dir, 'corpus.txt');
writeFileSync(corpus, 'Iron deficiency causes anemia with low ferritin.\n');
const medqa = join(projectRoot, 'src', 'eval', 'fixtures', 'medqa.jsonl');
const store = join(dir, 'store');
const kernel = new Kernel({
  store: new ArtifactStore(store),
  jobs: defaultJobs(),
  baseDir: dir,
});

afterAll(() => kernel.close());

/** Each stage's label and how many items eval.compare paired with the stage before it. */
async function pairedCounts(
  stages: Record<string, ArtifactRef>,
): Promise<[string, number | null][]> {
  const compared = await kernel.run('eval.compare', {
    stages: Object.entries(stages).map(([label, ref]) => ({ label, eval: ref })),
  }).result;
  const { rows } = compared.summary as { rows: { label: string; paired: number | null }[] };
  return rows.map((r) => [r.label, r.paired]);
}

describe('defaultJobs()', () => {
  it('offers the presets the model layer has', () => {
    expect([...MODEL_PRESET_NAMES]).toEqual([...MODEL_PRESETS]);
  });

  let dataset: ArtifactRef;
  it('synth writes the datasets and reports counts, keyed by the knowledge base', async () => {
    const plan = await kernel.plan('synth', { preset: 'tiny', seed: 5 });
    expect(plan.files.some((f) => f.path.endsWith('departments.json'))).toBe(true);
    const result = await kernel.run('synth', { preset: 'tiny', seed: 5 }).result;
    expect(result.artifact.kind).toBe('dataset');
    expect(result.files.map((f) => f.name)).toEqual(
      expect.arrayContaining(['pretrain.jsonl', 'sft_common.jsonl', 'dpo.jsonl', 'eval_mcq.jsonl']),
    );
    expect(result.summary).toMatchObject({ counts: { eval: 32 }, contamination: { passed: true } });
    dataset = result.artifact;
  });

  let model: ArtifactRef;
  it('model.init makes a tiny checkpoint from a dataset file (or a plain file)', async () => {
    const fromFile = await kernel.plan('model.init', { preset: 'tiny', corpus: 'corpus.txt' });
    expect(fromFile.files.map((f) => f.path)).toEqual([corpus]);
    expect(fromFile.estimate.seconds).toBeGreaterThan(0);
    const params = { preset: 'tiny', corpus: { dataset, file: 'pretrain.jsonl' }, seed: 3 };
    const events: JobEvent[] = [];
    const result = await kernel.run('model.init', params, { onEvent: (e) => events.push(e) })
      .result;
    expect(events[0]).toEqual({ type: 'started' });
    expect(result.artifact.kind).toBe('checkpoint');
    expect(result.summary).toMatchObject({ preset: 'tiny', documents: 120 });
    expect(result.files.map((f) => f.name)).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']),
    );
    model = result.artifact;
  });

  it('generate replies from a checkpoint artifact', async () => {
    const result = await kernel.run('generate', { model, prompt: 'fever?', maxTokens: 4 }).result;
    expect(result.summary).toMatchObject({ promptTokens: expect.any(Number) });
    expect((result.summary as { completionTokens: number }).completionTokens).toBeLessThanOrEqual(
      4,
    );
  });

  it('eval scores the checkpoint on a file or the held-out set; eval.compare pairs two', async () => {
    const zero = await kernel.run('eval', { model, bench: medqa, limit: 3 }).result;
    expect(zero.summary).toMatchObject({
      format: 'medqa',
      harness: 'lm-eval',
      n_scored: 3,
      accuracy: expect.any(Number),
    });
    expect(zero.summary).not.toHaveProperty('items_per_s');
    const heldOut = { dataset, file: 'eval_mcq.jsonl' };
    const own = await kernel.run('eval', { model, bench: heldOut, limit: 2 }).result;
    expect(own.summary).toMatchObject({ format: 'medqa', n_scored: 2 });
    const chat = {
      harness: 'workbench',
      chat: true,
      answerPrefix: 'The most likely diagnosis is',
      choiceStyle: 'text',
    };
    const asChat = await kernel.run('eval', { model, bench: heldOut, limit: 2, ...chat }).result;
    expect(asChat.summary).toMatchObject({ chat_template: true, n_scored: 2 });
    expect(asChat.artifact.key).not.toBe(own.artifact.key);
    const shot = await kernel.run('eval', {
      model,
      bench: medqa,
      limit: 3,
      shots: 1,
      shotsFile: medqa,
    }).result;
    expect(await pairedCounts({ '0-shot': zero.artifact, '1-shot': shot.artifact })).toEqual([
      ['0-shot', null],
      ['1-shot', 3],
    ]);
  });

  it('train.sft, train.dpo and ttt chain from the checkpoint on the synthesized data', async () => {
    const file = (name: string): { dataset: ArtifactRef; file: string } => ({
      dataset,
      file: name,
    });
    const plan = await kernel.plan('train.sft', {
      model,
      data: file('sft_common.jsonl'),
      preset: 'tiny',
    });
    expect(plan.estimate.detail).toMatch(/tokens x 2 epoch\(s\), 0\.\dM parameters/);
    const events: JobEvent[] = [];
    const sft = await kernel.run(
      'train.sft',
      { model, data: file('sft_common.jsonl'), preset: 'tiny', maxSteps: 2 },
      { onEvent: (e) => events.push(e) },
    ).result;
    expect(sft.artifact.kind).toBe('checkpoint');
    expect(sft.summary).toMatchObject({ stage: 'sft', steps: 2 });
    expect(sft.history.filter((e) => e.loss !== undefined).length).toBeGreaterThan(0);
    const dpo = await kernel.run('train.dpo', {
      model: sft.artifact,
      data: file('dpo.jsonl'),
      preset: 'tiny',
      maxSteps: 1,
    }).result;
    expect(dpo.summary).toMatchObject({ stage: 'dpo', steps: 1, beta: expect.any(Number) });
    const ttt = await kernel.run('ttt', {
      model: dpo.artifact,
      index: file('sft_complex.jsonl'),
      bench: file('eval_mcq.jsonl'),
      preset: 'tiny',
      limit: 2,
      chat: true,
      answerPrefix: 'The most likely diagnosis is',
    }).result;
    expect(ttt.summary).toMatchObject({
      n_items: 2,
      weights_restored: true,
      index: { documents: expect.any(Number) },
    });
    expect(ttt.summary).not.toHaveProperty('index.key');
    const logps = await kernel.run('dpo.logps', {
      model: dpo.artifact,
      data: file('dpo.jsonl'),
      limit: 3,
    }).result;
    expect(logps.summary).toMatchObject({ pairs: 3, chosen_mean: expect.any(Number) });
    const lines = readFileSync(
      join(store, 'artifacts', 'logps', logps.artifact.key, 'logps.jsonl'),
      'utf8',
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; chosen: number; rejected: number });
    expect(lines.map((l) => l.id)).toHaveLength(3);
    expect(lines.every((l) => l.chosen < 0 && l.rejected < 0)).toBe(true);
    expect(lines.reduce((a, l) => a + l.chosen, 0) / 3).toBeCloseTo(
      (logps.summary as { chosen_mean: number }).chosen_mean,
      6,
    );
    const before = await kernel.run('eval', {
      model: dpo.artifact,
      bench: file('eval_mcq.jsonl'),
      limit: 2,
    }).result;
    expect(await pairedCounts({ DPO: before.artifact, 'DPO+TTT': ttt.artifact })).toEqual([
      ['DPO', null],
      ['DPO+TTT', 2],
    ]);
  });

  it('model.load takes a model folder into the store, keyed by its files', async () => {
    const folder = join(projectRoot, 'src', 'model', 'fixtures', 'qwen2_mqa_tied');
    const result = await kernel.run('model.load', { path: folder }).result;
    expect(result.summary).toMatchObject({ modelType: 'qwen2', parameters: expect.any(Number) });
    expect(result.files.map((f) => f.name).sort()).toEqual(['config.json', 'model.safetensors']);
    await expect(kernel.plan('model.load', { path: dir })).rejects.toBeInstanceOf(InputError);
  });
});
