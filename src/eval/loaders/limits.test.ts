import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { detectFormat, loadBenchmark } from './load.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-bench-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string): string => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
const medqa = (question: string) =>
  JSON.stringify({ question, options: { A: 'a', B: 'b', C: 'c', D: 'd' }, answer_idx: 'B' });

async function failure(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('MMLU columns', () => {
  it('says a 5-column row is short a column, with file and line, before reading its answer', async () => {
    const file = write(
      'anatomy_test.csv',
      'Which bone forms the heel?,Talus,Calcaneus,Navicular,Cuboid,B\n' +
        'Which lobe holds the visual cortex?,Frontal,Parietal,Occipital,C\n',
    );
    const error = await failure(loadBenchmark(file, 'mmlu'));
    expect(error.message).toBe(
      `${file}:2: expected 6 columns (question, options A-D, answer), found 5`,
    );
    const seven = write('seven_test.csv', 'Q?,a,b,c,d,e,B\n');
    expect((await failure(loadBenchmark(seven, 'mmlu'))).message).toMatch(/found 7$/);
  });
});

describe('row and file limits', () => {
  it('refuses a JSONL row over --max-row-bytes naming file and line, or skips it', async () => {
    const file = write(
      'medqa.jsonl',
      [medqa('short?'), medqa('x'.repeat(20_000)), medqa('after?')].join('\n') + '\n',
    );
    const error = await failure(loadBenchmark(file, 'medqa', { maxRowBytes: 16 << 10 }));
    expect([error.file, error.line]).toEqual([file, 2]);
    expect(error.message).toMatch(
      /medqa\.jsonl:2: row is 20,\d{3} bytes, over the 16 KiB row limit \(--max-row-bytes\)$/,
    );
    const bench = await loadBenchmark(file, 'medqa', { maxRowBytes: 16 << 10, skipBadRows: true });
    expect(bench.items.map((i) => i.id)).toEqual(['L1', 'L3']);
    expect(bench.skipped.map((s) => s.source.line)).toEqual([2]);
    expect((await loadBenchmark(file, 'medqa')).items).toHaveLength(3);
  });

  it('detects the format from the first line only, and names an oversized first line', async () => {
    const file = write('first.jsonl', `${medqa('y'.repeat(20_000))}\n${medqa('ok?')}\n`);
    expect(await detectFormat(file)).toBe('medqa');
    const error = await failure(detectFormat(file, { maxRowBytes: 16 << 10 }));
    expect([error.file, error.line]).toEqual([file, 1]);
    expect(error.message).toMatch(/over the 16 KiB row limit .*pass --format$/);
  });

  it('applies the file limit to formats read whole: JSON arrays, PubMedQA, CSV', async () => {
    const array = write(
      'medmcqa.json',
      JSON.stringify([{ id: 'a', question: 'q?', opa: 'w', opb: 'x', opc: 'y', opd: 'z', cop: 0 }]),
    );
    expect((await loadBenchmark(array, 'medmcqa')).items).toHaveLength(1);
    expect((await failure(loadBenchmark(array, 'medmcqa', { maxFileBytes: 64 }))).message).toMatch(
      /medmcqa\.json: file is \d+ bytes, over the 64 bytes limit for formats read whole/,
    );
    const pubmed = write('pubmedqa.json', JSON.stringify({ 1: { QUESTION: 'q?' } }));
    await expect(loadBenchmark(pubmed, 'pubmedqa', { maxFileBytes: 16 })).rejects.toThrow(
      /pubmedqa\.json: file is \d+ bytes, over the 16 bytes limit/,
    );
    const csv = write('genetics_test.csv', 'Q?,a,b,c,d,B\n');
    await expect(loadBenchmark(csv, 'mmlu', { maxFileBytes: 8 })).rejects.toThrow(
      /over the 8 bytes/,
    );
  });

  it('reads a pretty-printed JSON document whose first line is not a record', async () => {
    const pubmed = write(
      'pretty.json',
      JSON.stringify(
        { 7: { QUESTION: 'Does it help?', CONTEXTS: ['Yes.'], final_decision: 'yes' } },
        null,
        2,
      ),
    );
    expect(await detectFormat(pubmed)).toBe('pubmedqa');
    expect((await loadBenchmark(pubmed)).items.map((i) => i.id)).toEqual(['7']);
  });

  it('accepts a BOM and CRLF line ends', async () => {
    const file = write('crlf.jsonl', `\uFEFF${medqa('one?')}\r\n${medqa('two?')}\r\n`);
    const bench = await loadBenchmark(file);
    expect(bench.items.map((i) => [i.id, i.question])).toEqual([
      ['L1', 'one?'],
      ['L2', 'two?'],
    ]);
  });
});
