// Browser-safe: the notebooks format ladders through `wb.ladder`, the CLI and reports through this.

/**
 * One rung of the gain ladder: a stage's accuracy and its change from the stage before. Every
 * ladder is a list of these: one run's (`compareStages`, the `eval.compare` job, a notebook's
 * `ladderRows`), a subset's, and one pooled over seeds (`pooledRows`).
 */
export interface LadderRow {
  /** The stage. */
  label: string;
  /** Questions scored (summed over seeds when pooled). */
  n: number;
  /** Accuracy (the mean over seeds when pooled). */
  acc: number;
  /** Lower end of the 95% bootstrap interval of `acc`; the lowest seed's when pooled. */
  lo: number;
  /** Upper end of that interval; the highest seed's when pooled. */
  hi: number;
  /**
   * Questions shared with the previous stage, on which the change is measured (null for the
   * first, and when pooled: the pooled test counts each seed's own shared questions).
   */
  paired: number | null;
  /** Accuracy gain over the previous stage on the shared questions (null for the first). */
  delta: number | null;
  /** Lower end of the paired-bootstrap interval of `delta`; the lowest seed's when pooled. */
  deltaLo: number | null;
  /** Upper end of that interval; the highest seed's when pooled. */
  deltaHi: number | null;
  /** Sample standard deviation of `delta` over seeds; only on a pooled rung. */
  deltaSd?: number;
  /** Questions the previous stage got right and this one wrong (null for the first). */
  b: number | null;
  /** Questions the previous stage got wrong and this one right (null for the first). */
  c: number | null;
  /** McNemar's exact p of the change (pooled over seeds: on the summed counts). */
  p: number | null;
}

const finite = (x: number | null | undefined): x is number =>
  typeof x === 'number' && Number.isFinite(x);
/** Signed points, the minus a real minus sign: `+8.0`, `−2.0`, `±0.0`. */
const points = (x: number): string =>
  `${x > 0 ? '+' : x < 0 ? '\u2212' : '\u00b1'}${Math.abs(100 * x).toFixed(1)}`;

/** The one way the ladder writes its numbers, in tables, charts, reports and prose. */
export const ladderFormat = {
  /** An accuracy: `42.0%`; `–` when there is none. */
  pct: (x: number | null | undefined): string => (finite(x) ? `${(100 * x).toFixed(1)}%` : '–'),
  /** An interval of accuracies: `34.0% – 50.0%`. */
  interval: (lo: number | null, hi: number | null): string =>
    `${ladderFormat.pct(lo)} \u2013 ${ladderFormat.pct(hi)}`,
  /** A change in points, with its sd over seeds when given: `+8.0 pts`, `−2.0 ± 1.5 pts`. */
  gain: (delta: number, sd?: number): string =>
    `${points(delta)}${finite(sd) ? ` \u00b1 ${(100 * sd).toFixed(1)}` : ''} pts`,
  /** An interval of changes: `−2.0 – +8.0 pts`. */
  gains: (lo: number, hi: number): string => `${points(lo)} \u2013 ${points(hi)} pts`,
  /** A p-value in a column headed by what it is: `0.023`, `<0.001`; empty when there is none. */
  p: (p: number | null): string => (p === null ? '' : p < 0.001 ? '<0.001' : p.toFixed(3)),
  /** A p-value in running text or on a chart: `p = 0.023`, `p < 0.001`. */
  pLabel: (p: number): string => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`),
  /** A rung's change with its p: `+8.0 pts (p = 0.023)`; empty on the first rung. */
  change: (r: Pick<LadderRow, 'delta' | 'deltaSd' | 'p'>): string =>
    r.delta === null
      ? ''
      : `${ladderFormat.gain(r.delta, r.deltaSd)}${r.p === null ? '' : ` (${ladderFormat.pLabel(r.p)})`}`,
};

/**
 * The ladder's table: one record of formatted cells per rung, columns stage, n, accuracy, its
 * interval, the change with its interval, gained / lost and the p-value. A ladder pooled over
 * seeds (rungs with `deltaSd`) shows the change as mean ± sd and its intervals as the range
 * over seeds. Notebooks show it with `Inputs.table` or arquero; {@link ladderText} lines it
 * up for a terminal.
 */
export function ladderCells(rows: readonly LadderRow[]): Record<string, string>[] {
  const f = ladderFormat;
  const pooled = rows.some((r) => r.deltaSd !== undefined);
  return rows.map((r) => ({
    stage: r.label,
    n: String(r.n),
    accuracy: f.pct(r.acc),
    [pooled ? 'seeds min \u2013 max' : '95% CI']: f.interval(r.lo, r.hi),
    'vs previous': r.delta === null ? '' : f.gain(r.delta, r.deltaSd),
    [pooled ? 'change min \u2013 max' : 'change 95% CI']:
      r.deltaLo === null || r.deltaHi === null ? '' : f.gains(r.deltaLo, r.deltaHi),
    'gained / lost': r.delta === null ? '' : `${r.c ?? '?'} / ${r.b ?? '?'}`,
    [pooled ? 'pooled McNemar p' : 'McNemar p']: f.p(r.p),
  }));
}

/** {@link ladderCells} as a terminal table: the stage left-aligned, every figure right-aligned. */
export function ladderText(rows: readonly LadderRow[]): string {
  const records = ladderCells(rows);
  const header = Object.keys(records[0] ?? {});
  const lines = records.map((record) => header.map((h) => record[h]));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...lines.map(line)].join('\n');
}
