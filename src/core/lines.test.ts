import { mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from './errors.ts';
import { firstChar, formatLimit, readLines, readTextFile, type TextLine } from './lines.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function write(content: string | Buffer): string {
  const file = join(dir, `f${n++}.txt`);
  writeFileSync(file, content);
  return file;
}

async function collect(file: string, maxRowBytes?: number): Promise<TextLine[]> {
  const out: TextLine[] = [];
  for await (const line of readLines(file, { maxRowBytes })) out.push(line);
  return out;
}

describe('readLines(file)', () => {
  it('drops a BOM, ends lines at LF or CRLF, numbers them from 1, keeps blank ones', async () => {
    const file = write('\uFEFFalpha\r\n\nbeta\ngamma');
    expect(await collect(file)).toEqual([
      { line: 1, text: 'alpha' },
      { line: 2, text: '' },
      { line: 3, text: 'beta' },
      { line: 4, text: 'gamma' },
    ]);
    expect(await collect(write(''))).toEqual([]);
    expect(await collect(write('one\n'))).toEqual([{ line: 1, text: 'one' }]);
  });

  it('joins lines that span read chunks, multi-byte characters included', async () => {
    const long = 'é'.repeat(100_000); // 200,000 bytes: several 64 KiB chunks, split mid-character
    const lines = await collect(write(`${long}\r\nnext\n`));
    expect(lines.map((l) => [l.line, l.text.length])).toEqual([
      [1, 100_000],
      [2, 4],
    ]);
    expect(lines[0].text).toBe(long);
  });

  it('reports a line over the limit with its exact size, then reads on', async () => {
    const lines = await collect(write(`ok\n${'x'.repeat(5000)}\r\nafter\n`), 4096);
    expect(lines).toEqual([
      { line: 1, text: 'ok' },
      {
        line: 2,
        text: '',
        error: 'row is 5,001 bytes, over the 4 KiB row limit (--max-row-bytes)',
      },
      { line: 3, text: 'after' },
    ]);
  });

  it('streams a 50 MB single-row file to a row-limit error without holding the row', async () => {
    const file = join(dir, 'huge.jsonl');
    const fd = openSync(file, 'w');
    const block = Buffer.alloc(1 << 20, 'a');
    writeSync(fd, '{"text": "short"}\n{"text": "');
    for (let i = 0; i < 50; i++) writeSync(fd, block);
    writeSync(fd, '"}\n');
    closeSync(fd);
    const heapBefore = process.memoryUsage().heapUsed;
    const lines = await collect(file);
    rmSync(file);
    expect(lines.map((l) => [l.line, l.error])).toEqual([
      [1, undefined],
      [2, 'row is 52,428,812 bytes, over the 8 MiB row limit (--max-row-bytes)'],
    ]);
    // A reader that held the row would keep a 50 MB string or buffer alive here.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(40 << 20);
  });

  it('names a missing file, and refuses a limit that is not a positive count', async () => {
    const missing = collect(join(dir, 'nope.jsonl'));
    await expect(missing).rejects.toBeInstanceOf(InputError);
    await expect(collect(join(dir, 'nope.jsonl'))).rejects.toThrow(
      /nope\.jsonl: cannot read \(ENOENT\)/,
    );
    await expect(collect(write('x'), 0)).rejects.toThrow(/maxRowBytes: expected a positive/);
  });
});

describe('readTextFile(file, limits)', () => {
  it('reads the file without its BOM', async () => {
    expect(await readTextFile(write('\uFEFF[1,\r\n2]'))).toBe('[1,\r\n2]');
  });

  it('refuses a file over the limit before reading it, naming it', async () => {
    const file = write('x'.repeat(3000));
    const error = await readTextFile(file, { maxFileBytes: 2048 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).file).toBe(file);
    expect((error as Error).message).toMatch(
      /: file is 3,000 bytes, over the 2 KiB limit for formats read whole .*JSON Lines$/,
    );
    await expect(readTextFile(dir)).rejects.toThrow(/cannot read \(EISDIR\)/);
  });
});

describe('firstChar(file) and formatLimit(bytes)', () => {
  it('skips a BOM and whitespace', async () => {
    expect(await firstChar(write('\uFEFF \r\n\t[ 1 ]'))).toBe('[');
    expect(await firstChar(write('{"a": 1}'))).toBe('{');
    expect(await firstChar(write(' \n '))).toBeUndefined();
  });

  it('prints exact binary units, else bytes', () => {
    expect([8 << 20, 512 << 10, 1000, 1536 << 10].map(formatLimit)).toEqual([
      '8 MiB',
      '512 KiB',
      '1,000 bytes',
      '1,536 KiB',
    ]);
  });
});
