/** A row left out under `--skip-bad-rows`, as every reader reports it. */
export interface SkippedLike {
  /** Where the row is: the file and its line, or its key in a keyed file. */
  source: { file: string; line?: number; key?: string };
  /** Why it was left out (`field: reason`). */
  reason: string;
}

/** How many skipped rows are listed one by one before the rest are only counted. */
export const SKIPPED_SHOWN = 10;

/**
 * What `--skip-bad-rows` prints: `finemed: skipped file:line: reason` for each of the first
 * `shown` rows, then a count of the rest. `total` is the whole count when `skipped` holds
 * only the first few (a reused index keeps only those). Empty when nothing was skipped.
 */
export function formatSkipped(
  skipped: readonly SkippedLike[],
  options: { total?: number; shown?: number } = {},
): string {
  const total = options.total ?? skipped.length;
  const listed = skipped.slice(0, options.shown ?? SKIPPED_SHOWN);
  const lines = listed.map(({ source, reason }) => {
    const place =
      source.line !== undefined ? `:${source.line}` : source.key ? `: key ${source.key}` : '';
    return `finemed: skipped ${source.file}${place}: ${reason}`;
  });
  const rest = total - listed.length;
  if (rest > 0)
    lines.push(
      `finemed: ... and ${rest.toLocaleString('en-US')} more skipped row${rest === 1 ? '' : 's'}`,
    );
  return lines.map((l) => l + '\n').join('');
}
