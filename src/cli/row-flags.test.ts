import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.ts';
import type { CommandContext } from './command.ts';
import { bytesFlag, rowOptions } from './row-flags.ts';

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
      expect(bytesFlag(ctx({ 'max-row-bytes': raw }), 'max-row-bytes')).toBe(bytes);
    expect(bytesFlag(ctx({}), 'max-row-bytes')).toBeUndefined();
  });

  it('refuses anything else as a usage error naming the flag', () => {
    for (const raw of ['0', '-5', '8.5MiB', 'lots', '8TiB'])
      expect(() => bytesFlag(ctx({ 'max-row-bytes': raw }), 'max-row-bytes')).toThrow(UsageError);
    expect(() => bytesFlag(ctx({ 'max-file-bytes': 'lots' }), 'max-file-bytes')).toThrow(
      "--max-file-bytes must be a byte count such as 8388608 or 8MiB, got 'lots'",
    );
  });

  it('gives the readers both settings', () => {
    expect(
      rowOptions(ctx({ 'skip-bad-rows': true, 'max-row-bytes': '1KiB', 'max-file-bytes': '1G' })),
    ).toEqual({ skipBadRows: true, maxRowBytes: 1024, maxFileBytes: 1 << 30 });
    expect(rowOptions(ctx({}))).toEqual({ skipBadRows: false });
  });
});
