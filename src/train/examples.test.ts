import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.ts';
import { readDpoFile, readSftFile, sftExamples, type SkippedRow } from './examples.ts';
import { readIndexDocuments } from './retrieve/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const chat = (...roles: string[]) => ({
  messages: roles.map((role, i) => ({ role, content: `turn ${i}` })),
});
const write = (name: string, text: string): string => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('message roles', () => {
  it('accepts system, user, assistant and tool', () => {
    const { rows } = sftExamples([chat('system', 'user', 'assistant', 'tool', 'assistant')]);
    expect(rows).toHaveLength(1);
  });

  it('names file, line and messages[i].role of an unknown role, or skips the row', async () => {
    const file = write(
      'roles.jsonl',
      jsonl([chat('user', 'assistant'), chat('user', 'assistant', 'wizard')]),
    );
    const error = await readSftFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({ file, line: 2, field: 'messages[2].role' });
    expect((error as Error).message).toBe(
      `${file}:2: messages[2].role: expected system, user, assistant, tool, got "wizard"`,
    );
    const loaded = await readSftFile(file, { skipBadRows: true });
    expect(loaded.rows).toHaveLength(1);
    expect(loaded.skipped).toEqual([
      {
        source: { file, line: 2 },
        reason: 'messages[2].role: expected system, user, assistant, tool, got "wizard"',
      },
    ]);
  });

  it('checks the roles of DPO message lists and TTT index rows too', async () => {
    const dpo = write(
      'dpo.jsonl',
      jsonl([{ prompt: [{ role: 'wizard', content: 'q' }], chosen: 'a', rejected: 'b' }]),
    );
    await expect(readDpoFile(dpo)).rejects.toThrow(`${dpo}:1: prompt[0].role: expected system`);
    const index = write('index.jsonl', jsonl([chat('user', 'wizard')]));
    await expect(readIndexDocuments(index)).rejects.toThrow(
      `${index}:1: messages[1].role: expected system`,
    );
  });
});

describe('reading a JSONL file', () => {
  it('accepts a BOM and CRLF line ends in training and index files alike', async () => {
    const text =
      '\uFEFF' +
      jsonl([chat('user', 'assistant'), chat('user', 'assistant')]).replaceAll('\n', '\r\n');
    const file = write('bom.jsonl', text);
    const sft = await readSftFile(file);
    expect(sft.rows.map((r) => r.source.line)).toEqual([1, 2]);
    expect((await readIndexDocuments(file)).rows).toHaveLength(2);
    const dpo = write(
      'bom-dpo.jsonl',
      '\uFEFF' + JSON.stringify({ prompt: 'q', chosen: 'a', rejected: 'b' }) + '\r\n',
    );
    expect((await readDpoFile(dpo)).rows).toHaveLength(1);
  });

  it('stops at a row over the limit, naming file and line, or skips it', async () => {
    const big = { text: 'x'.repeat(10_000) };
    const file = write('big.jsonl', jsonl([{ text: 'small' }, big, { text: 'after' }]));
    await expect(readSftFile(file, { maxRowBytes: 8192 })).rejects.toThrow(
      `${file}:2: row is 10,011 bytes, over the 8 KiB row limit (--max-row-bytes)`,
    );
    const told: SkippedRow[] = [];
    const loaded = await readSftFile(file, {
      maxRowBytes: 8192,
      skipBadRows: true,
      onSkipped: (rows) => told.push(...rows),
    });
    expect(loaded.rows.map((r) => r.source.line)).toEqual([1, 3]);
    expect(told).toEqual(loaded.skipped);
    expect(told.map((s) => s.source.line)).toEqual([2]);
    expect((await readSftFile(file)).rows).toHaveLength(3);
  });

  it('does not call onSkipped when nothing was skipped', async () => {
    const file = write('clean.jsonl', jsonl([{ text: 'fine' }]));
    let calls = 0;
    await readSftFile(file, { skipBadRows: true, onSkipped: () => calls++ });
    expect(calls).toBe(0);
  });
});
