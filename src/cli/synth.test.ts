import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFakeLlmServer } from '../data/llm/fake-server.ts';
import { runCli as run } from './testing.ts';

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
      'eval_mcq_paraphrased.jsonl',
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

  it('drives an OpenAI-compatible endpoint with --llm-base-url and --llm-model', async () => {
    const server = await startFakeLlmServer();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'finemed-synth-cli-'));
      const cache = mkdtempSync(join(tmpdir(), 'finemed-synth-cache-'));
      const args = [
        'synth',
        '--preset',
        'tiny',
        '--conditions',
        '6',
        '--passages',
        '12',
        '--eval-items',
        '6',
      ];
      const llm = [
        '--llm-base-url',
        server.url,
        '--llm-model',
        'fake',
        '--llm-cache',
        cache,
        '--concurrency',
        '2',
        '--llm-timeout',
        '5',
      ];
      const { code, out, err } = await run([
        ...args,
        ...llm,
        '--max-requests',
        '10000',
        '--price-in',
        '3',
        '--price-out',
        '15',
        '--out',
        dir,
        '--json',
      ]);
      expect(code).toBe(0);
      const summary = JSON.parse(out.trim().split('\n').pop()!);
      expect(summary.generator).toBe('llm:fake');
      expect(summary.counts.texts).toBe(12);
      expect(server.maxInFlight()).toBeLessThanOrEqual(2);
      expect(err).toMatch(/synth:pipeline .* 12\/12 .*req\/s · [\d,]+ tok\/s · \$0\.\d{4}\n/);
      expect(out).toMatch(
        /LLM: \d+ requests \(0 cached\), [\d,]+ prompt \+ [\d,]+ completion tokens, \$0\.\d{4}/,
      );
    } finally {
      await server.close();
    }
  });

  it('--corpus stops at a bad or oversized line, or skips it with --skip-bad-rows and says which', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finemed-synth-corpus-'));
    const corpus = join(dir, 'corpus.jsonl');
    const text =
      'Gout is a painful form of arthritis. Symptoms include sudden severe pain and swelling in the big toe. It is caused by uric acid crystals in the joint.';
    writeFileSync(
      corpus,
      '\uFEFF' +
        [
          JSON.stringify({ id: 'gout', title: 'Gout', text }),
          JSON.stringify({ id: 'long', text: text.repeat(20) }),
          '{not json',
        ].join('\r\n') +
        '\r\n',
    );
    const args = ['synth', '--preset', 'tiny', '--out', join(dir, 'out'), '--corpus', corpus];
    const limited = await run([...args, '--max-row-bytes', '1KiB']);
    expect(limited.code).toBe(1);
    expect(limited.err).toMatch(
      /corpus\.jsonl:2: row is 3,\d{3} bytes, over the 1 KiB row limit \(--max-row-bytes\)/,
    );
    const skipped = await run([...args, '--max-row-bytes', '1KiB', '--skip-bad-rows', '--json']);
    expect(skipped.code, skipped.err).toBe(0);
    expect(skipped.err).toContain(`finemed: skipped ${corpus}:2: row is `);
    expect(skipped.err).toMatch(new RegExp(`finemed: skipped ${corpus}:3: not valid JSON`));
    expect(JSON.parse(skipped.out.trim().split('\n').pop()!).counts.corpusTexts).toBe(1);
    expect((await run(['synth', '--out', dir, '--skip-bad-rows'])).code).toBe(2);
  });

  it('rejects bad flags with exit 2', async () => {
    expect((await run(['synth', '--preset', 'huge', '--out', '/tmp/x'])).code).toBe(2);
    expect((await run(['synth', '--preset', 'tiny'])).err).toContain('--out is required');
    expect((await run(['synth', '--llm-base-url', 'http://x/v1', '--out', '/tmp/x'])).code).toBe(2);
    const unpriced = await run(['synth', '--price-in', '3', '--out', '/tmp/x']);
    expect(unpriced.code).toBe(2);
    expect(unpriced.err).toContain('--price-in needs --llm-base-url and --llm-model');
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
