import { UsageError } from '../core/errors.ts';
import { DEFAULT_MAX_ROW_BYTES, formatLimit } from '../core/lines.ts';
import { formatSkipped, type SkippedLike } from '../core/skipped.ts';
import { boolFlag, stringFlag, type CommandContext, type FlagSpec } from './command.ts';

/** The flags of every command that reads rows: how bad and oversized rows are handled. */
export const rowFlags: Record<string, FlagSpec> = {
  'skip-bad-rows': {
    type: 'boolean',
    description: 'Skip malformed rows (the first 10 are printed, the rest counted)',
  },
  'max-row-bytes': {
    type: 'string',
    value: 'N[KiB|MiB|GiB]',
    description: `Longest row read (default ${formatLimit(DEFAULT_MAX_ROW_BYTES)})`,
  },
};

const UNITS: Record<string, number> = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 };

/** `--max-row-bytes`: a byte count, optionally in KiB, MiB or GiB (`64MiB`, `64M`). */
export function maxRowBytesFlag(ctx: CommandContext): number | undefined {
  const raw = stringFlag(ctx, 'max-row-bytes');
  if (raw === undefined) return undefined;
  const match = /^(\d+)\s*(?:([kmg])(?:i?b)?|b)?$/i.exec(raw.trim());
  const bytes = match ? Number(match[1]) * UNITS[(match[2] ?? '').toLowerCase()] : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new UsageError(
      `--max-row-bytes must be a byte count such as 8388608 or 8MiB, got '${raw}'`,
    );
  return bytes;
}

/** `--skip-bad-rows` and `--max-row-bytes`, as the readers take them. */
export function rowOptions(ctx: CommandContext): { skipBadRows: boolean; maxRowBytes?: number } {
  const maxRowBytes = maxRowBytesFlag(ctx);
  return { skipBadRows: boolFlag(ctx, 'skip-bad-rows'), ...(maxRowBytes ? { maxRowBytes } : {}) };
}

/** Prints skipped rows to stderr (see {@link formatSkipped}). */
export function printSkipped(
  ctx: CommandContext,
  skipped: readonly SkippedLike[],
  total?: number,
): void {
  ctx.stderr.write(formatSkipped(skipped, { total }));
}
