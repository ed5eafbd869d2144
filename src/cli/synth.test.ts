import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from './main.ts';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  (stderr as unknown as PassThrough).on('data', (d) => (err += d));
  const code = await main(argv, { stdout, stderr });
  return { code, out, err };
}

describe('finemed synth', () => {
  it('writes every dataset, the report and departments.json, and prints a JSON summary last', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finemed-synth-cli-'));
    const { code, out, err } = await run([
      'synth',
      '--preset',
      'tiny',
      '--passages',
      '60',
      '--eval-items',
      '12',
      '--out',
      dir,
      '--json',
    ]);
    expect(code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([
      'departments.json',
      'dpo.jsonl',
      'eval_mcq.jsonl',
      'pretrain.jsonl',
      'sft_common.jsonl',
      'sft_complex.jsonl',
      'sft_department.jsonl',
      'sft_subdepartment.jsonl',
      'synthesis_report.json',
    ]);
    expect(out).toContain('Not for clinical use');
    const summary = JSON.parse(out.trim().split('\n').pop()!);
    expect(summary).toMatchObject({
      out: dir,
      generator: 'offline',
      rows: { 'eval_mcq.jsonl': 12, 'pretrain.jsonl': 60 },
    });
    expect(summary.contamination.passed).toBe(true);
    expect(err).toContain('synth:pipeline');
  });

  it('exits 1 and still writes the report when an evaluation item leaks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finemed-synth-cli-'));
    const { code, err } = await run([
      'synth',
      '--preset',
      'tiny',
      '--leak-threshold',
      '0.01',
      '--out',
      dir,
    ]);
    expect(code).toBe(1);
    expect(err).toMatch(/evaluation item\(s\) leak into training/);
    expect(readdirSync(dir)).toContain('synthesis_report.json');
  });

  it('rejects bad flags with exit 2', async () => {
    expect((await run(['synth', '--preset', 'huge', '--out', '/tmp/x'])).code).toBe(2);
    expect((await run(['synth', '--preset', 'tiny'])).err).toContain('--out is required');
    expect((await run(['synth', '--llm-base-url', 'http://x/v1', '--out', '/tmp/x'])).code).toBe(2);
    expect((await run(['synth', '--format', 'csv', '--out', '/tmp/x'])).code).toBe(2);
    expect(
      (
        await run([
          'synth',
          '--department',
          'cardiology',
          '--preset',
          'tiny',
          '--out',
          mkdtempSync(join(tmpdir(), 'x-')),
        ])
      ).code,
    ).toBe(2);
  });
});
