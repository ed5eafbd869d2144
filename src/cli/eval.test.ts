import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { writeEvalResult, type EvalRecord, type EvalSummary } from '../eval/results.ts';
import { createModel } from '../model/init.ts';
import { runCli as run } from './testing.ts';

const fixture = (name: string): string => join(projectRoot, 'src', 'eval', 'fixtures', name);

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
    for (const dir of [home, modelDir]) rmSync(dir, { recursive: true, force: true });
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
      harness: 'lm-eval',
      // The fixture's line 2 has five options; lm-eval's medqa_4options has four.
      lm_eval: {
        comparable: false,
        notes: [expect.stringMatching(/medqa_4options has 4 options; .*medqa\.jsonl:2 has 5/)],
      },
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
      '--harness',
      'workbench',
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

  it('--harness lm-eval (the default) refuses workbench modes and shots without a split', async () => {
    const bench = ['eval', '--model', modelDir, '--bench', fixture('medqa.jsonl')];
    const generate = await run([...bench, '--mode', 'generate']);
    expect(generate.code).toBe(1);
    expect(generate.err).toMatch(/takes no mode generate .*use --harness workbench/);
    const shots = await run([...bench, '--shots', '2']);
    expect(shots.code).toBe(1);
    expect(shots.err).toMatch(/2-shot medqa .* pass it with --shots-file/);
    const withSplit = await run([...bench, '--shots', '2', '--shots-file', fixture('medqa.jsonl')]);
    expect(withSplit.code).toBe(0);
    expect(withSplit.out).toMatch(/harness lm-eval \(lm-evaluation-harness v0\.4\.12[^)]*\): acc /);
    expect(withSplit.out).toMatch(
      /not comparable with lm-eval: .*medqa\.jsonl:2 has 5.*the shots file's first 2/,
    );
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

/** Saves a result whose item i is right when pattern[i] is '1'. */
async function saved(
  root: string,
  name: string,
  pattern: string,
  bench = 'b.jsonl',
): Promise<string> {
  const records = [...pattern].map(
    (ch, i) =>
      ({
        id: `L${i + 1}`,
        source: { file: bench, line: i + 1 },
        question: `q${i}`,
        options: ['x', 'y'],
        answerIndex: 0,
        prompt: `q${i}`,
        prediction: ch === '1' ? 0 : 1,
        correct: ch === '1',
        latencyMs: 1,
      }) satisfies EvalRecord,
  );
  const summary = { format: 'medqa', bench, mode: 'loglik' } as EvalSummary;
  const dir = join(root, name);
  await writeEvalResult(dir, { summary, records });
  return dir;
}

describe('finemed compare RESULT_A RESULT_B', () => {
  const root = mkdtempSync(join(tmpdir(), 'finemed-compare-'));

  it('prints paired statistics as JSON: delta, b, c and the McNemar p-value', async () => {
    // B fixes 8 of A's errors and breaks 2: b=2, c=8, p = 0.109375; delta = 6/20.
    const a = await saved(root, 'a', '11000000000011111111');
    const b = await saved(root, 'b', '00111111110011111111');
    const { code, out } = await run(['compare', a, b, '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(out.trim().split('\n').at(-1) ?? '');
    expect(result).toMatchObject({
      n_paired: 20,
      accuracy_a: 0.5,
      accuracy_b: 0.8,
      b: 2,
      c: 8,
      p_mcnemar: 0.109375,
      only_a: 0,
      only_b: 0,
    });
    expect(result.delta).toBeCloseTo(0.3, 12);
    expect(result.ci95[0]).toBeLessThan(result.delta);
    expect(result.ci95[1]).toBeGreaterThan(result.delta);
  });

  it('chains further stages with --then and writes the ladder with --svg', async () => {
    const base = await saved(root, 'base', '1100');
    const sft = await saved(root, 'sft', '1110');
    const dpo = await saved(root, 'dpo', '1111');
    const svg = join(root, 'ladder.svg');
    const { code, out } = await run([
      'compare',
      base,
      sft,
      '--then',
      dpo,
      '--labels',
      'base,SFT,DPO',
      '--svg',
      svg,
    ]);
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^stage\s+n\s+accuracy\s+95% CI\s+vs previous/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['base', '4', '50.0%'],
      ['SFT', '4', '75.0%'],
      ['DPO', '4', '100.0%'],
    ]);
    expect(lines[2]).toMatch(/\+25\.0 pts .* 1 \/ 0\s+1\.000$/);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[^>]*>.*\+25\.0 pts \(p = 1\.000\)/s);
  });

  it('warns about different benchmarks and unpaired items', async () => {
    const a = await saved(root, 'x', '101', 'one.jsonl');
    const b = await saved(root, 'y', '1', 'two.jsonl');
    const { code, err } = await run(['compare', a, b]);
    expect(code).toBe(0);
    expect(err).toMatch(/warning: y was scored on two\.jsonl/);
    expect(err).toMatch(/2 item\(s\) only in x, 0 only in y/);
  });

  it('names the folder that is not a result (exit 1) and rejects bad flags (exit 2)', async () => {
    const a = await saved(root, 'ok', '1');
    const missing = await run(['compare', a, join(root, 'nothing')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nothing: not an evaluation result/);
    const labels = await run(['compare', a, a, '--labels', 'one']);
    expect(labels.code).toBe(2);
  });
});
