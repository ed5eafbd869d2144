import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync, writeJsonAtomic } from './atomic.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-atomic-'));

describe('writeFileAtomic', () => {
  it('writes the whole file and leaves no temp file behind', async () => {
    const dir = scratch();
    const path = join(dir, 'a.txt');
    await writeFileAtomic(path, 'hello');
    expect(readFileSync(path, 'utf8')).toBe('hello');
    expect(readdirSync(dir)).toEqual(['a.txt']);
  });

  it('replaces an existing file in one step', async () => {
    const dir = scratch();
    const path = join(dir, 'a.txt');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, 'new contents');
    expect(readFileSync(path, 'utf8')).toBe('new contents');
  });

  it('creates missing parent folders', async () => {
    const path = join(scratch(), 'x', 'y', 'z.json');
    await writeJsonAtomic(path, { b: 1 });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ b: 1 });
  });

  it('keeps the old file intact when the write fails', async () => {
    const dir = scratch();
    const path = join(dir, 'a.txt');
    writeFileSync(path, 'old');
    // A value that cannot be written makes the temp-file write throw before the rename.
    await expect(writeFileAtomic(path, 42 as unknown as string)).rejects.toThrow();
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['a.txt']);
  });
});

describe('writeFileAtomicSync', () => {
  it('writes bytes', () => {
    const path = join(scratch(), 'b.bin');
    writeFileAtomicSync(path, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
  });
});
