import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { chatRows, clinicModel, preferenceRows, remedyFacts } from '../train/fixtures/clinic.ts';
import { runCli as run } from './testing.ts';

// How every command that reads rows treats bad, oversized and BOM-prefixed ones.
const dir = mkdtempSync(join(tmpdir(), 'finemed-cli-rows-'));
const modelDir = join(dir, 'model');
const home = process.env.FINEMED_HOME;
const medqa = join(projectRoot, 'src', 'eval', 'fixtures', 'medqa.jsonl');
const file = (name: string, rows: unknown[], prefix = ''): string => {
  const path = join(dir, name);
  writeFileSync(path, prefix + rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
};
const wizard = (i: number) => ({
  messages: [
    { role: 'user', content: `question ${i}` },
    { role: 'wizard', content: 'abracadabra' },
  ],
});
const common = ['--model', modelDir, '--preset', 'tiny', '--threads', '2', '--json'];
const skippedLines = (err: string): string[] =>
  err.split('\n').filter((l) => l.startsWith('finemed: skipped '));

beforeAll(async () => {
  process.env.FINEMED_HOME = join(dir, 'home');
  const model = clinicModel(3);
  await model.save(modelDir);
  await model.dispose();
});
afterAll(() => {
  if (home === undefined) delete process.env.FINEMED_HOME;
  else process.env.FINEMED_HOME = home;
  rmSync(dir, { recursive: true, force: true });
});

describe('train sft --skip-bad-rows', () => {
  it('names the role of a "wizard" turn, or prints the first 10 skipped lines and a count', async () => {
    const data = file('sft.jsonl', [
      ...chatRows(8),
      ...Array.from({ length: 12 }, (_, i) => wizard(i)),
    ]);
    const out = join(dir, 'sft');
    const failed = await run(['train', 'sft', ...common, '--data', data, '--out', out]);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain(
      `${data}:9: messages[1].role: expected system, user, assistant, tool, got "wizard"`,
    );
    const args = ['train', 'sft', ...common, '--data', data, '--out', out, '--max-steps', '1'];
    const skipped = await run([...args, '--skip-bad-rows']);
    expect(skipped.code, skipped.err).toBe(0);
    expect(skipped.json).toMatchObject({ skipped_rows: 12, rows: 8 });
    expect(skippedLines(skipped.err)).toEqual(
      Array.from(
        { length: 10 },
        (_, i) =>
          `finemed: skipped ${data}:${9 + i}: messages[1].role: expected system, user, assistant, tool, got "wizard"`,
      ),
    );
    expect(skipped.err).toContain('finemed: ... and 2 more skipped rows\n');
  });

  it('reads a file with a BOM and CRLF line ends', async () => {
    const rows = chatRows(4).map((r) => JSON.stringify(r));
    const data = join(dir, 'bom.jsonl');
    writeFileSync(data, '\uFEFF' + rows.join('\r\n') + '\r\n');
    const out = join(dir, 'sft-bom');
    const { code, json, err } = await run([
      'train',
      'sft',
      ...common,
      '--data',
      data,
      '--out',
      out,
      '--max-steps',
      '1',
    ]);
    expect(code, err).toBe(0);
    expect(json).toMatchObject({ rows: 4, skipped_rows: 0 });
  });
});

describe('train dpo --max-row-bytes', () => {
  it('stops at a row over the limit naming file and line, or skips it', async () => {
    const long = { prompt: 'q', chosen: 'a'.repeat(3000), rejected: 'b' };
    const data = file('dpo.jsonl', [...preferenceRows(4), long]);
    const args = ['train', 'dpo', ...common, '--data', data, '--out', join(dir, 'dpo')];
    const failed = await run([...args, '--max-row-bytes', '2KiB']);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain(
      `${data}:5: row is 3,041 bytes, over the 2 KiB row limit (--max-row-bytes)`,
    );
    const skipped = await run([
      ...args,
      '--max-row-bytes',
      '2KiB',
      '--skip-bad-rows',
      '--max-steps',
      '1',
    ]);
    expect(skipped.code, skipped.err).toBe(0);
    expect(skippedLines(skipped.err)).toEqual([
      `finemed: skipped ${data}:5: row is 3,041 bytes, over the 2 KiB row limit (--max-row-bytes)`,
    ]);
    const badFlag = await run([...args, '--max-row-bytes', 'lots']);
    expect(badFlag.code).toBe(2);
  });
});

describe('ttt --index --skip-bad-rows', () => {
  it('prints the skipped index lines, also when the index is reused', async () => {
    const index = file(
      'index.jsonl',
      [...remedyFacts(), ...Array.from({ length: 3 }, (_, i) => wizard(i))],
      '\uFEFF',
    );
    const args = ['ttt', ...common, '--index', index, '--bench', medqa, '--format', 'medqa'];
    const more = ['--out', join(dir, 'ttt'), '--steps', '0', '--limit', '1', '--skip-bad-rows'];
    const expected = [9, 10, 11].map(
      (line) =>
        `finemed: skipped ${index}:${line}: messages[1].role: expected system, user, assistant, tool, got "wizard"`,
    );
    const first = await run([...args, ...more]);
    expect(first.code, first.err).toBe(0);
    expect(first.json).toMatchObject({ index: { reused: false, documents: 8, skipped: 3 } });
    expect(skippedLines(first.err)).toEqual(expected);
    const again = await run([...args, ...more]);
    expect(again.json).toMatchObject({ index: { reused: true, skipped: 3 } });
    expect(skippedLines(again.err)).toEqual(expected);
  });
});

describe('eval --max-file-bytes', () => {
  it('refuses a whole-file format over the limit, naming the file and the flag', async () => {
    const pubmed = join(projectRoot, 'src', 'eval', 'fixtures', 'pubmedqa.json');
    const args = ['eval', '--model', modelDir, '--bench', pubmed, '--format', 'pubmedqa'];
    const { code, err } = await run([...args, '--max-file-bytes', '1KiB']);
    expect(code).toBe(1);
    expect(err).toMatch(
      new RegExp(
        `${pubmed}: file is [\\d,]+ bytes, over the 1 KiB limit for formats read whole \\(--max-file-bytes\\)`,
      ),
    );
  });
});

describe('eval on a 50 MB row', () => {
  it('stops with the row-limit error naming file and line', async () => {
    const bench = join(dir, 'huge.jsonl');
    const fd = openSync(bench, 'w');
    const record = (q: string) =>
      JSON.stringify({ question: q, options: { A: 'a', B: 'b' }, answer_idx: 'A' });
    writeSync(fd, `${record('short?')}\n${record('also short?')}\n{"question": "`);
    const block = Buffer.alloc(1 << 20, 'q');
    for (let i = 0; i < 50; i++) writeSync(fd, block);
    writeSync(fd, `", "options": {"A": "a", "B": "b"}, "answer_idx": "A"}\n${record('after?')}\n`);
    closeSync(fd);
    try {
      const { code, err } = await run(['eval', '--model', modelDir, '--bench', bench]);
      expect(code).toBe(1);
      expect(err).toContain(
        `${bench}:3: row is 52,428,868 bytes, over the 8 MiB row limit (--max-row-bytes)`,
      );
    } finally {
      rmSync(bench);
    }
  });
});
