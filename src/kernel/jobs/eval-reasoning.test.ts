import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../core/artifacts.ts';
import { readReasoning } from '../../eval/reasoning.ts';
import type { EvalRecord } from '../../eval/results.ts';
import { Kernel } from '../kernel.ts';
import type { ArtifactRef } from '../protocol.ts';
import { defaultJobs } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-reasoning-'));
const store = join(dir, 'store');
const kernel = new Kernel({ store: new ArtifactStore(store), jobs: defaultJobs(), baseDir: dir });
afterAll(() => kernel.close());

let dataset: ArtifactRef;
let model: ArtifactRef;
const file = (name: string) => ({ dataset, file: name });
// No harness: reasoning answers are the workbench's own task whatever the default profile.
const reasoning = {
  mode: 'generate',
  answer: 'reasoning',
  maxTokens: 12,
  limit: 3,
} as const;

function records(kind: string, key: string, path: string): EvalRecord[] {
  const text = readFileSync(join(store, 'artifacts', kind, key, path), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EvalRecord);
}

beforeAll(async () => {
  dataset = (await kernel.run('synth', { preset: 'tiny', seed: 2 }).result).artifact;
  const corpus = file('pretrain.jsonl');
  model = (await kernel.run('model.init', { preset: 'tiny', corpus, seed: 2 }).result).artifact;
}, 120_000);

describe('reasoning answers through the jobs', () => {
  it('eval generates replies as the training rows ask, records them and the format rate', async () => {
    const run = await kernel.run('eval', { model, bench: file('eval_mcq.jsonl'), ...reasoning })
      .result;
    expect(run.summary).toMatchObject({
      mode: 'generate',
      answer: 'reasoning',
      n_scored: 3,
      format_rate: expect.any(Number),
      invalid_rate: expect.any(Number),
    });
    const items = records('eval', run.artifact.key, 'items.jsonl');
    expect(items).toHaveLength(3);
    for (const r of items) {
      expect(typeof r.output).toBe('string');
      expect(typeof r.formatted).toBe('boolean');
      // The user's turn is the question and its lettered options, as sft_complex rows with options.
      expect(r.messages).toEqual([
        { role: 'user', content: expect.stringMatching(/\nA\. .+\nB\. /) },
      ]);
      // An untrained model's reply names no option, so it is [invalid] and wrong.
      if (r.prediction === null) expect(r.invalid).toMatch(/no-diagnosis|not-an-option/);
    }
    const invalid = items.filter((r) => r.prediction === null).length / items.length;
    expect((run.summary as { invalid_rate: number }).invalid_rate).toBeCloseTo(invalid);
  }, 120_000);

  it('ttt answers in reasoning format with base and adapted weights', async () => {
    const run = await kernel.run('ttt', {
      model,
      index: file('sft_complex.jsonl'),
      bench: file('eval_mcq.jsonl'),
      preset: 'tiny',
      mode: 'generate',
      answer: 'reasoning',
      maxTokens: 12,
      limit: 2,
    }).result;
    expect(run.summary).toMatchObject({ n_items: 2, mode: 'generate', weights_restored: true });
    const items = records('ttt', run.artifact.key, 'eval/items.jsonl');
    expect(items.map((r) => typeof r.formatted)).toEqual(['boolean', 'boolean']);
    const summary = JSON.parse(
      readFileSync(
        join(store, 'artifacts', 'ttt', run.artifact.key, 'eval', 'summary.json'),
        'utf8',
      ),
    ) as { answer: string; format_rate: number };
    expect(summary).toMatchObject({ answer: 'reasoning', format_rate: expect.any(Number) });
    // TTT's own records read both replies, base and adapted, with the reasoning reader.
    const ttt = readFileSync(
      join(store, 'artifacts', 'ttt', run.artifact.key, 'ttt_records.jsonl'),
      'utf8',
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { before: { output: string; prediction: number | null } });
    for (const [i, r] of ttt.entries()) {
      const options = items[i].options;
      expect(r.before.prediction).toBe(readReasoning(r.before.output, options).index ?? null);
    }
  }, 120_000);

  it('estimates a reasoning evaluation by its reply budget', async () => {
    const bench = file('eval_mcq.jsonl');
    const plan = (params: object) => kernel.plan('eval', { model, bench, limit: 10, ...params });
    const loglik = (await plan({ harness: 'workbench' })).estimate;
    const short = (await plan({ ...reasoning, limit: 10, maxTokens: 100 })).estimate;
    const long = (await plan({ ...reasoning, limit: 10, maxTokens: 400 })).estimate;
    expect(short.seconds).toBeGreaterThan(loglik.seconds);
    expect(long.seconds).toBeCloseTo(4 * short.seconds);
    expect(long.detail).toMatch(/reasoning/);
    const ttt = (answer?: string) =>
      kernel.plan('ttt', {
        model,
        index: file('sft_complex.jsonl'),
        bench,
        limit: 10,
        mode: 'generate',
        answer,
        maxTokens: 400,
      });
    expect((await ttt('reasoning')).estimate.seconds).toBeGreaterThan(
      (await ttt()).estimate.seconds + 10 * 2 * 400 * 0.01,
    );
  });
});
