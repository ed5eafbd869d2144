import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import {
  chatRows,
  clinicModel,
  preferenceRows,
  remedyFacts,
  remedyQuestions,
} from '../train/fixtures/clinic.ts';
import { runCli as run } from './testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-cli-train-'));
const file = (name: string, rows: unknown[]): string => {
  const path = join(dir, name);
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
};
const modelDir = join(dir, 'model');
const common = ['--model', modelDir, '--preset', 'tiny', '--threads', '2', '--json'];
const stage = (name: 'sft' | 'dpo', ...args: string[]) => run(['train', name, ...common, ...args]);
const home = process.env.FINEMED_HOME;

beforeAll(async () => {
  process.env.FINEMED_HOME = join(dir, 'home');
  const model = clinicModel(21);
  await model.save(modelDir);
  await model.dispose();
});
afterAll(() => {
  if (home === undefined) delete process.env.FINEMED_HOME;
  else process.env.FINEMED_HOME = home;
});

describe('finemed train sft', () => {
  it('trains, writes the model and prints the summary fields', async () => {
    const out = join(dir, 'sft');
    const data = file('sft.jsonl', chatRows(16));
    const heldOut = file('sft-eval.jsonl', chatRows(20).slice(16));
    const { code, json, err } = await stage(
      'sft',
      '--data',
      data,
      '--eval-data',
      heldOut,
      '--out',
      out,
      '--epochs',
      '3',
      '--save-every',
      '2',
    );
    expect(code, err).toBe(0);
    expect(json).toMatchObject({
      stage: 'sft',
      steps: 6,
      checkpoint: join(out, 'checkpoint-6'),
      rows: 16,
      eval_rows: 4,
    });
    expect(json.train_loss_last).toBeLessThan(json.train_loss_first as number);
    expect(typeof json.eval_loss).toBe('number');
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  });

  it('names file and line of a malformed row, or skips and counts it', async () => {
    const data = file('bad.jsonl', [...chatRows(8), { messages: 'nope' }]);
    const out = join(dir, 'sft-bad');
    const failed = await stage('sft', '--data', data, '--out', out);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain(`${data}:9: messages: expected a non-empty list of messages`);
    const skipped = await stage(
      'sft',
      '--data',
      data,
      '--out',
      out,
      '--skip-bad-rows',
      '--max-steps',
      '1',
    );
    expect(skipped.code, skipped.err).toBe(0);
    expect(skipped.json).toMatchObject({ skipped_rows: 1, rows: 8 });
    expect(skipped.err).toContain('1 malformed rows skipped');
  });

  it('refuses --resume without a checkpoint, and bad flag values with exit 2', async () => {
    const data = file('ok.jsonl', chatRows(4));
    const noCheckpoint = await stage(
      'sft',
      '--data',
      data,
      '--out',
      join(dir, 'fresh'),
      '--resume',
    );
    expect(noCheckpoint.code).toBe(1);
    expect(noCheckpoint.err).toContain('no checkpoint to resume from');
    const bad = await stage('sft', '--data', data, '--out', join(dir, 'x'), '--truncation', 'drop');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--truncation must be one of truncate|error');
  });
});

describe('finemed train dpo', () => {
  it('prints the summary fields with TRL’s metric names', async () => {
    const data = file('dpo.jsonl', preferenceRows(8));
    const { code, json, err } = await stage(
      'dpo',
      '--data',
      data,
      '--out',
      join(dir, 'dpo'),
      '--eval-split',
      '0.25',
      '--loss',
      'ipo',
    );
    expect(code, err).toBe(0);
    expect(json).toMatchObject({ stage: 'dpo', loss_type: 'ipo', pairs: 6, eval_pairs: 2 });
    for (const key of [
      'steps',
      'train_loss_first',
      'train_loss_last',
      'eval_loss',
      'checkpoint',
      'rewards/margins',
      'rewards/accuracies',
      'logps/chosen',
    ])
      expect(json).toHaveProperty([key]);
    const bad = await stage('dpo', '--data', data, '--out', join(dir, 'dpo2'), '--loss', 'kto');
    expect(bad.code).toBe(2);
  });
});

describe('finemed ttt and finemed bench ttt', () => {
  it('ttt prints accuracy before and after, restored weights and time per item', async () => {
    const bench = file('questions.jsonl', remedyQuestions());
    const index = file('facts.jsonl', remedyFacts());
    const out = join(dir, 'ttt');
    const args = [
      'ttt',
      ...common,
      '--index',
      index,
      '--bench',
      bench,
      '--format',
      'medqa',
      '--out',
      out,
      '--k',
      '1',
      '--steps',
      '3',
      '--lr',
      '3e-3',
      '--choice-style',
      'text',
    ];
    const { code, json, err } = await run(args);
    expect(code, err).toBe(0);
    expect(json).toMatchObject({
      n_items: 8,
      weights_restored: true,
      k: 1,
      steps: 3,
      index: { reused: false, documents: 8 },
    });
    expect(json.accuracy_after).toBeGreaterThan(json.accuracy_before as number);
    expect(json.seconds_per_item).toBeGreaterThan(0);
    expect(existsSync(join(out, 'ttt_records.jsonl'))).toBe(true);
    expect((await run(args)).json).toMatchObject({ index: { reused: true } });
  });

  it('bench ttt reports median latency per phase for each k', async () => {
    const bench = join(projectRoot, 'src', 'eval', 'fixtures', 'medqa.jsonl');
    const { code, json, err } = await run([
      'bench',
      'ttt',
      '--preset',
      'tiny',
      '--bench',
      bench,
      '--k',
      '1,2',
      '--items',
      '2',
      '--warmup',
      '1',
      '--threads',
      '2',
      '--json',
    ]);
    expect(code, err).toBe(0);
    const results = json.results as {
      k: number;
      items: number;
      median_ms: Record<string, number>;
    }[];
    expect(results.map((r) => [r.k, r.items])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    for (const r of results)
      expect(r.median_ms.total).toBeCloseTo(
        r.median_ms.retrieve + r.median_ms.adapt + r.median_ms.answer + r.median_ms.restore,
        -1,
      );
  });
});
