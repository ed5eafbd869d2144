import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeEvalResult, type EvalRecord, type EvalSummary } from '../eval/results.ts';
import { main } from './main.ts';

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
    expect(lines[0]).toMatch(/^stage\s+n\s+acc/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['base', '4', '0.500'],
      ['SFT', '4', '0.750'],
      ['DPO', '4', '1.000'],
    ]);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[^>]*>.*\+25\.0 pts \(p=1\.000\)/s);
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
