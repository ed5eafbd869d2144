import { UsageError } from '../core/errors.ts';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_ROW_BYTES, formatLimit } from '../core/lines.ts';
import { formatSkipped, type SkippedLike } from '../core/skipped.ts';
import { boolFlag, stringFlag } from './command.ts';
import type { CommandContext } from './command.ts';
import { switchFlag, valueFlag, type FlagSpec } from './flags.ts';

/** The flags of every command that reads rows: how bad and oversized rows are handled. */
export const rowFlags: Record<string, FlagSpec> = {
  'skip-bad-rows': switchFlag('Skip malformed rows (the first 10 are printed, the rest counted)'),
  'max-row-bytes': valueFlag(
    'N[KiB|MiB|GiB]',
    `Longest row read (default ${formatLimit(DEFAULT_MAX_ROW_BYTES)})`,
  ),
};

/** The flag of commands that also read whole-file formats (JSON arrays and objects, CSV, .txt). */
export const fileFlags: Record<string, FlagSpec> = {
  'max-file-bytes': valueFlag(
    'N[KiB|MiB|GiB]',
    `Largest file read whole (JSON array or object, CSV; default ${formatLimit(DEFAULT_MAX_FILE_BYTES)})`,
  ),
};

const UNITS: Record<string, number> = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 };

/** A byte-count flag, optionally in KiB, MiB or GiB (`64MiB`, `64M`). */
export function bytesFlag(ctx: CommandContext, name: string): number | undefined {
  const raw = stringFlag(ctx, name);
  if (raw === undefined) return undefined;
  const match = /^(\d+)\s*(?:([kmg])(?:i?b)?|b)?$/i.exec(raw.trim());
  const bytes = match ? Number(match[1]) * UNITS[(match[2] ?? '').toLowerCase()] : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new UsageError(`--${name} must be a byte count such as 8388608 or 8MiB, got '${raw}'`);
  return bytes;
}

/** `--skip-bad-rows`, `--max-row-bytes` and (where a command has it) `--max-file-bytes`. */
export function rowOptions(ctx: CommandContext): {
  skipBadRows: boolean;
  maxRowBytes?: number;
  maxFileBytes?: number;
} {
  const maxRowBytes = bytesFlag(ctx, 'max-row-bytes');
  const maxFileBytes = bytesFlag(ctx, 'max-file-bytes');
  return {
    skipBadRows: boolFlag(ctx, 'skip-bad-rows'),
    ...(maxRowBytes ? { maxRowBytes } : {}),
    ...(maxFileBytes ? { maxFileBytes } : {}),
  };
}

/** Prints skipped rows to stderr (see {@link formatSkipped}). */
export function printSkipped(
  ctx: CommandContext,
  skipped: readonly SkippedLike[],
  total?: number,
): void {
  ctx.stderr.write(formatSkipped(skipped, { total }));
}
