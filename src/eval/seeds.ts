// Browser-safe: notebooks pool ladders through `wb.stats.poolSeeds`, the CLI through this module.
import type { LadderPoint } from './ladder.ts';
import type { LadderRow } from './ladder-row.ts';
import { mcnemarExact } from './stats.ts';

/**
 * The fields of one seed's {@link LadderRow} that pooling reads (`b` and `c` may be missing
 * from hand-made rows; a change without them cannot be pooled).
 */
export type SeedRung = Pick<LadderRow, 'label' | 'n' | 'acc' | 'delta' | 'p'> &
  Partial<Pick<LadderRow, 'b' | 'c'>>;

/** One seed's whole ladder. */
export interface SeedLadder {
  /** The seed the recipe ran with. */
  seed: number;
  /** Its stages, in ladder order. */
  rows: readonly SeedRung[];
}

/** A spread over seeds: mean, sample standard deviation (n - 1) and range. */
export interface Spread {
  /** Mean over seeds. */
  mean: number;
  /** Sample standard deviation over seeds. */
  sd: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
}

/** One stage pooled over seeds. */
export interface PooledRung {
  /** The stage. */
  label: string;
  /** Questions scored, summed over seeds (each seed's world has its own questions). */
  n: number;
  /** Accuracy over seeds. */
  acc: Spread;
  /** Change from the previous stage over seeds (null for the first). */
  delta: Spread | null;
  /** Lost questions summed over seeds (null for the first). */
  b: number | null;
  /** Gained questions summed over seeds (null for the first). */
  c: number | null;
  /** McNemar's exact p on the pooled discordant counts, items x seeds (null for the first). */
  p: number | null;
  /** Each seed's own figures for this stage, in the order the ladders were given. */
  perSeed: { seed: number; acc: number; delta: number | null; p: number | null }[];
}

/** Mean, sample standard deviation and range of at least two values. */
export function spread(values: readonly number[]): Spread {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const ss = values.reduce((s, v) => s + (v - mean) ** 2, 0);
  return {
    mean,
    sd: Math.sqrt(ss / (values.length - 1)),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/**
 * Pools per-seed ladders of the same stages: each stage's accuracy and gain as mean, sd and
 * range over seeds, and a paired test over items x seeds (McNemar's exact test on the lost
 * and gained counts summed over seeds). Summing is sound only because every seed synthesizes
 * its own world, so no question is counted twice.
 */
export function poolSeeds(ladders: readonly SeedLadder[]): PooledRung[] {
  if (ladders.length < 2)
    throw new Error(`pooling needs at least two seeds, got ${ladders.length}`);
  const seeds = ladders.map((l) => l.seed);
  const repeated = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (repeated !== undefined) throw new Error(`seed ${repeated} is given twice`);
  const labels = ladders[0].rows.map((r) => r.label);
  for (const l of ladders) {
    const own = l.rows.map((r) => r.label);
    if (own.join('\n') !== labels.join('\n')) {
      throw new Error(
        `seed ${l.seed} has stages [${own.join(', ')}], seed ${ladders[0].seed} [${labels.join(', ')}]`,
      );
    }
  }
  return labels.map((label, i) => {
    const rows = ladders.map((l) => l.rows[i]);
    const perSeed = ladders.map((l) => ({
      seed: l.seed,
      acc: l.rows[i].acc,
      delta: l.rows[i].delta,
      p: l.rows[i].p,
    }));
    const n = rows.reduce((s, r) => s + r.n, 0);
    if (i === 0)
      return {
        label,
        n,
        acc: spread(rows.map((r) => r.acc)),
        delta: null,
        b: null,
        c: null,
        p: null,
        perSeed,
      };
    const counts = rows.map((r, k) => {
      if (r.delta === null || typeof r.b !== 'number' || typeof r.c !== 'number') {
        throw new Error(
          `seed ${seeds[k]}, stage ${label}: no change from the previous stage (delta, b, c)`,
        );
      }
      return { delta: r.delta, b: r.b, c: r.c };
    });
    const b = counts.reduce((s, r) => s + r.b, 0);
    const c = counts.reduce((s, r) => s + r.c, 0);
    return {
      label,
      n,
      acc: spread(rows.map((r) => r.acc)),
      delta: spread(counts.map((r) => r.delta)),
      b,
      c,
      p: mcnemarExact(b, c),
      perSeed,
    };
  });
}

/**
 * The pooled ladder as ladder rows: each rung at the mean accuracy over seeds, its interval the
 * range over seeds; its change the mean gain, with its sd and range over seeds and the pooled p.
 */
export function pooledRows(pooled: readonly PooledRung[]): LadderRow[] {
  return pooled.map((r) => ({
    label: r.label,
    n: r.n,
    acc: r.acc.mean,
    lo: r.acc.min,
    hi: r.acc.max,
    paired: null,
    delta: r.delta?.mean ?? null,
    deltaLo: r.delta?.min ?? null,
    deltaHi: r.delta?.max ?? null,
    ...(r.delta ? { deltaSd: r.delta.sd } : {}),
    b: r.b,
    c: r.c,
    p: r.p,
  }));
}

/** One chart point per seed per stage, at that seed's accuracy. */
export function seedPoints(pooled: readonly PooledRung[]): LadderPoint[] {
  return pooled.flatMap((r) =>
    r.perSeed.map((s) => ({ label: r.label, acc: s.acc, name: `seed ${s.seed}` })),
  );
}
