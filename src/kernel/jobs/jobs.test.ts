import { mkdtempSync, writeFileSync } from 'node:fs';
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
writeFileSync(
  corpus,
  Array.from(
    { length: 40 },
    (_, i) =>
      `Patient ${i} has fever and cough.\nIron deficiency causes anemia with low ferritin.\n`,
  ).join('\n'),
);
const medqa = join(projectRoot, 'src', 'eval', 'fixtures', 'medqa.jsonl');
const kernel = new Kernel({
  store: new ArtifactStore(join(dir, 'store')),
  jobs: defaultJobs(),
  baseDir: dir,
});

afterAll(() => kernel.close());

describe('defaultJobs()', () => {
  it('offers the model presets the model layer has', () => {
    expect([...MODEL_PRESET_NAMES]).toEqual([...MODEL_PRESETS]);
  });

  let model: ArtifactRef;
  it('model.init makes a tiny checkpoint artifact, reporting progress', async () => {
    const plan = await kernel.plan('model.init', { preset: 'tiny', corpus: 'corpus.txt', seed: 3 });
    expect(plan.files.map((f) => f.path)).toEqual([corpus]);
    expect(plan.estimate.seconds).toBeGreaterThan(0);
    const events: JobEvent[] = [];
    const result = await kernel.run(
      'model.init',
      { preset: 'tiny', corpus: 'corpus.txt', seed: 3 },
      { onEvent: (e) => events.push(e) },
    ).result;
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThan(0);
    expect(result.history.length).toBeGreaterThan(0);
    expect(result.artifact.kind).toBe('checkpoint');
    expect(result.summary).toMatchObject({ preset: 'tiny', documents: 40 });
    expect(result.files.map((f) => f.name)).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']),
    );
    model = result.artifact;
  });

  it('generate replies from a checkpoint artifact', async () => {
    const result = await kernel.run('generate', { model, prompt: 'fever?', maxTokens: 4 }).result;
    expect(result.summary).toMatchObject({
      promptTokens: expect.any(Number),
      completionTokens: expect.any(Number),
    });
    expect((result.summary as { completionTokens: number }).completionTokens).toBeLessThanOrEqual(
      4,
    );
  });

  it('eval scores the checkpoint on a benchmark; eval.compare pairs two evaluations', async () => {
    const zero = await kernel.run('eval', { model, bench: medqa, limit: 3 }).result;
    expect(zero.summary).toMatchObject({
      format: 'medqa',
      n_scored: 3,
      accuracy: expect.any(Number),
    });
    expect(zero.summary).not.toHaveProperty('items_per_s');
    const shot = await kernel.run('eval', { model, bench: medqa, limit: 3, shots: 1 }).result;
    const compared = await kernel.run('eval.compare', {
      stages: [
        { label: '0-shot', eval: zero.artifact },
        { label: '1-shot', eval: shot.artifact },
      ],
    }).result;
    const { rows } = compared.summary as { rows: { label: string; paired: number | null }[] };
    expect(rows.map((r) => [r.label, r.paired])).toEqual([
      ['0-shot', null],
      ['1-shot', 3],
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
