import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { createModel } from '../model/init.ts';
import { main } from './main.ts';

const fixture = (name: string): string => join(projectRoot, 'src', 'eval', 'fixtures', name);

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(argv, { stdout, stderr: stderr as unknown as NodeJS.WriteStream });
  return { code, out, err };
}

const lastJson = (out: string): Record<string, unknown> =>
  JSON.parse(out.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;

describe('finemed eval', () => {
  const home = mkdtempSync(join(tmpdir(), 'finemed-eval-home-'));
  const modelDir = mkdtempSync(join(tmpdir(), 'finemed-eval-model-'));
  const saved = process.env.FINEMED_HOME;

  beforeAll(async () => {
    process.env.FINEMED_HOME = home;
    const model = createModel({ preset: 'tiny', seed: 5, texts: ['Question: Answer: A B C D'] });
    await model.save(modelDir);
    await model.dispose();
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.FINEMED_HOME;
    else process.env.FINEMED_HOME = saved;
  });

  it('--json prints the summary with counts, accuracy and CI, and stores an artifact', async () => {
    const out = join(home, 'out');
    const args = ['eval', '--model', modelDir, '--bench', fixture('medqa.jsonl'), '--json'];
    const first = await run([...args, '--out', out]);
    expect(first.code).toBe(0);
    const summary = lastJson(first.out);
    expect(summary).toMatchObject({
      format: 'medqa',
      mode: 'loglik',
      n_items: 3,
      n_scored: 3,
      n_skipped: 0,
      reused: false,
    });
    const [lo, hi] = summary.ci95 as number[];
    expect(lo).toBeLessThanOrEqual(summary.accuracy as number);
    expect(hi).toBeGreaterThanOrEqual(summary.accuracy as number);
    expect(readFileSync(join(out, 'items.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    const second = await run(args);
    expect(lastJson(second.out)).toMatchObject({ reused: true, accuracy: summary.accuracy });
  });

  it('detects the format, skips bad rows and runs generate mode', async () => {
    const { code, out, err } = await run([
      'eval',
      '--model',
      modelDir,
      '--bench',
      fixture('medqa-bad.jsonl'),
      '--skip-bad-rows',
      '--mode',
      'generate',
      '--max-tokens',
      '4',
      '--limit',
      '1',
    ]);
    expect(code).toBe(0);
    expect(out).toMatch(
      /^medqa medqa-bad\.jsonl: 2 items, 1 scored, 3 skipped \(generate, 0-shot\)/,
    );
    expect(out).toMatch(/unparseable [01]/);
    expect(err).toMatch(/skipped .*medqa-bad\.jsonl:2: /);
  });

  it('exits 1 naming the bad row, and 2 on a bad flag', async () => {
    const bad = await run(['eval', '--model', modelDir, '--bench', fixture('medqa-bad.jsonl')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/medqa-bad\.jsonl:2: /);
    const flag = await run([
      'eval',
      '--model',
      modelDir,
      '--bench',
      fixture('medqa.jsonl'),
      '--mode',
      'guess',
    ]);
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/--mode must be one of loglik\|generate/);
    const missing = await run(['eval', '--bench', fixture('medqa.jsonl')]);
    expect(missing.code).toBe(2);
  });
});

describe('finemed bench eval', () => {
  it('--json prints questions per second in both modes for a preset model', async () => {
    const { code, out } = await run([
      'bench',
      'eval',
      '--preset',
      'tiny',
      '--bench',
      fixture('medqa.jsonl'),
      '--items',
      '2',
      '--max-tokens',
      '2',
      '--json',
    ]);
    expect(code).toBe(0);
    const report = lastJson(out) as {
      loglik: { items: number; items_per_s: number };
      generate: { items: number; max_tokens: number };
    };
    expect(report).toMatchObject({ format: 'medqa', model: 'preset:tiny (random weights)' });
    expect([report.loglik.items, report.generate.items, report.generate.max_tokens]).toEqual([
      2, 2, 2,
    ]);
    expect(report.loglik.items_per_s).toBeGreaterThan(0);
  });
});
