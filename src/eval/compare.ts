import { from, type ColumnTable } from 'arquero';
import type { LadderRow } from './ladder-row.ts';
import {
  accuracyCI,
  comparePaired,
  type BootstrapOptions,
  type Outcome,
  type PairedComparison,
} from './stats.ts';

/** One stage of the recipe with its per-item outcomes (e.g. `SFT` and its eval records). */
export interface Stage {
  /** The stage's name in tables and charts. */
  label: string;
  /** Its scored items (an eval result's records will do). */
  records: readonly Outcome[];
}

/** Options of {@link compareStages}. */
export interface CompareOptions extends BootstrapOptions {
  /** Keep only the items with these ids (a subset such as the clean items); default all. */
  ids?: Iterable<string>;
}

/**
 * Compares consecutive stages (base -> SFT -> long-reasoning SFT -> DPO -> DPO+TTT, or any
 * labelled list): each stage's accuracy with its bootstrap interval, and the change from the
 * stage before it, paired on item ids, with a paired-bootstrap interval and McNemar's p. With
 * `ids`, every figure is that of the subset, as if the other items had never been scored.
 */
export function compareStages(stages: readonly Stage[], opts: CompareOptions = {}): LadderRow[] {
  const keep = opts.ids ? new Set(opts.ids) : undefined;
  const records = stages.map((s) => (keep ? s.records.filter((r) => keep.has(r.id)) : s.records));
  return stages.map((stage, i) => {
    const own = accuracyCI(
      records[i].map((r) => r.correct),
      opts,
    );
    const change: PairedComparison | undefined =
      i === 0 ? undefined : comparePaired(records[i - 1], records[i], opts);
    return {
      label: stage.label,
      n: own.n,
      acc: own.acc,
      lo: own.lo,
      hi: own.hi,
      paired: change?.n ?? null,
      delta: change?.delta ?? null,
      deltaLo: change?.lo ?? null,
      deltaHi: change?.hi ?? null,
      b: change?.b ?? null,
      c: change?.c ?? null,
      p: change?.p ?? null,
    };
  });
}

/** The comparison as an arquero table, one row per stage, columns as in {@link LadderRow}. */
export function stageTable(rows: readonly LadderRow[]): ColumnTable {
  return from(rows.map((row) => ({ ...row })));
}
