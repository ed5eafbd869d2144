import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.ts';
import type { CommandContext } from './command.ts';
import { maxRowBytesFlag, rowOptions } from './row-flags.ts';

const ctx = (flags: CommandContext['flags']): CommandContext =>
  ({ flags, stdout: new PassThrough(), stderr: new PassThrough() }) as unknown as CommandContext;

describe('--max-row-bytes and --skip-bad-rows', () => {
  it('reads a byte count, with or without a binary unit', () => {
    const cases: [string, number][] = [
      ['4096', 4096],
      ['64MiB', 64 << 20],
      ['64M', 64 << 20],
      ['512 KiB', 512 << 10],
      ['1GiB', 1 << 30],
      ['100b', 100],
    ];
    for (const [raw, bytes] of cases)
      expect(maxRowBytesFlag(ctx({ 'max-row-bytes': raw }))).toBe(bytes);
    expect(maxRowBytesFlag(ctx({}))).toBeUndefined();
  });

  it('refuses anything else as a usage error naming the flag', () => {
    for (const raw of ['0', '-5', '8.5MiB', 'lots', '8TiB'])
      expect(() => maxRowBytesFlag(ctx({ 'max-row-bytes': raw }))).toThrow(UsageError);
    expect(() => maxRowBytesFlag(ctx({ 'max-row-bytes': 'lots' }))).toThrow(
      "--max-row-bytes must be a byte count such as 8388608 or 8MiB, got 'lots'",
    );
  });

  it('gives the readers both settings', () => {
    expect(rowOptions(ctx({ 'skip-bad-rows': true, 'max-row-bytes': '1KiB' }))).toEqual({
      skipBadRows: true,
      maxRowBytes: 1024,
    });
    expect(rowOptions(ctx({}))).toEqual({ skipBadRows: false });
  });
});
