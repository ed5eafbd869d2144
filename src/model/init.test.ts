import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpus } from './init.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-init-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readCorpus(path, field)', () => {
  it('reads JSONL with a BOM and CRLF, and plain text split at blank lines', async () => {
    const jsonl = join(dir, 'c.jsonl');
    writeFileSync(jsonl, '\uFEFF{"text": "Gout hurts."}\r\n\r\n{"text": "Sepsis kills."}\r\n');
    expect(await readCorpus(jsonl)).toEqual(['Gout hurts.', 'Sepsis kills.']);
    const txt = join(dir, 'c.txt');
    writeFileSync(txt, '\uFEFFGout hurts.\r\nA lot.\r\n\r\nSepsis kills.');
    expect(await readCorpus(txt)).toEqual(['Gout hurts.\nA lot.', 'Sepsis kills.']);
  });

  it('names file and line of a line over the row limit', async () => {
    const big = join(dir, 'big.jsonl');
    writeFileSync(big, `{"text": "ok"}\n{"text": "${'x'.repeat(9 << 20)}"}\n`);
    await expect(readCorpus(big)).rejects.toThrow(
      `${big}:2: row is 9,437,196 bytes, over the 8 MiB row limit (--max-row-bytes)`,
    );
  });
});
