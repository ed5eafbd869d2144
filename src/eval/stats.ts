import { quantileSorted } from 'd3';
import { Rng } from '../core/rng.ts';

/** How a bootstrap is drawn. */
export interface BootstrapOptions {
  /** Number of resamples (default 2000). */
  resamples?: number;
  /** Seed of the resampling stream (default 0): the same seed gives the same interval. */
  seed?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

/** An accuracy with its percentile-bootstrap confidence interval. */
export interface AccuracyEstimate {
  /** Items counted. */
  n: number;
  /** Items answered correctly. */
  correct: number;
  /** `correct / n` (NaN when n is 0). */
  acc: number;
  /** Lower end of the interval. */
  lo: number;
  /** Upper end of the interval. */
  hi: number;
}

/** Two result sets compared item by item on the ids they share. */
export interface PairedComparison {
  /** Items scored in both sets. */
  n: number;
  /** Accuracy of A on the shared items. */
  accA: number;
  /** Accuracy of B on the shared items. */
  accB: number;
  /** `accB - accA`. */
  delta: number;
  /** Paired-bootstrap interval of `delta`: lower end. */
  lo: number;
  /** Paired-bootstrap interval of `delta`: upper end. */
  hi: number;
  /** Discordant pairs where A is right and B wrong. */
  b: number;
  /** Discordant pairs where A is wrong and B right. */
  c: number;
  /** McNemar's exact two-sided p-value for b vs c. */
  p: number;
  /** Ids scored in A but not in B. */
  onlyA: number;
  /** Ids scored in B but not in A. */
  onlyB: number;
}

/** One item's outcome, as the statistics need it. */
export interface Outcome {
  /** The item id (pairs match on it). */
  id: string;
  /** Whether the prediction was right. */
  correct: boolean;
  /** The breakdown group, when the data has one. */
  subject?: string;
}

/** One group of a breakdown. */
export interface GroupAccuracy extends AccuracyEstimate {
  /** The group (subject, department, exam step). */
  subject: string;
}

/**
 * The `p` quantile of ascending `sorted` values, interpolating between neighbours (type 7,
 * numpy's default, which is d3's definition); NaN when there are none.
 */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  // d3's types ask for an Array, but it reads only `length` and indices: typed arrays do.
  return quantileSorted(sorted as number[], p) ?? NaN;
}

/**
 * The mean of `values` with a percentile-bootstrap interval: resample the items with
 * replacement `resamples` times, take the mean each time, read off the quantiles.
 */
export function bootstrapMean(
  values: ArrayLike<number>,
  opts: BootstrapOptions = {},
): { mean: number; lo: number; hi: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN };
  const resamples = opts.resamples ?? 2000;
  const level = opts.level ?? 0.95;
  const rng = new Rng(opts.seed ?? 0);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[rng.int(n)];
    means[r] = sum / n;
  }
  means.sort();
  let total = 0;
  for (let i = 0; i < n; i++) total += values[i];
  return {
    mean: total / n,
    lo: quantile(means, (1 - level) / 2),
    hi: quantile(means, 1 - (1 - level) / 2),
  };
}

/** Accuracy of right/wrong outcomes with a bootstrap interval (B=2000, 95%, seed 0 by default). */
export function accuracyCI(
  correct: readonly boolean[],
  opts: BootstrapOptions = {},
): AccuracyEstimate {
  const { mean, lo, hi } = bootstrapMean(correct.map(Number), opts);
  return { n: correct.length, correct: correct.filter(Boolean).length, acc: mean, lo, hi };
}

/**
 * McNemar's exact test: the two-sided binomial p-value of `b` successes against `c` on
 * `b + c` discordant pairs with p = 1/2, i.e. min(1, 2 P(X <= min(b, c))). Beyond 1000 pairs
 * the terms are summed in log space, where 2^-n would underflow.
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  const k = Math.min(b, c);
  if (n === 0) return 1;
  if (n <= 1000) {
    // 2^-n is exact down to 2^-1074; summing in linear space keeps small cases exact.
    let term = 2 ** -n;
    let tail = term;
    for (let i = 1; i <= k; i++) {
      term = (term * (n - i + 1)) / i;
      tail += term;
    }
    return Math.min(1, 2 * tail);
  }
  const logs: number[] = [];
  let logTerm = -n * Math.LN2;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logTerm += Math.log(n - i + 1) - Math.log(i);
    logs.push(logTerm);
  }
  const top = Math.max(...logs);
  const tail = Math.exp(top) * logs.reduce((s, l) => s + Math.exp(l - top), 0);
  return Math.min(1, 2 * tail);
}

/**
 * Compares B against A on the items both scored: accuracies, the difference with a paired
 * bootstrap interval (items resampled together), and McNemar's exact p-value.
 */
export function comparePaired(
  a: readonly Outcome[],
  b: readonly Outcome[],
  opts: BootstrapOptions = {},
): PairedComparison {
  const inB = new Map(b.map((o) => [o.id, o.correct]));
  const idsA = new Set(a.map((o) => o.id));
  const diffs: number[] = [];
  let rightA = 0;
  let rightB = 0;
  let onlyA = 0;
  let bCount = 0;
  let cCount = 0;
  for (const o of a) {
    const other = inB.get(o.id);
    if (other === undefined) {
      onlyA++;
      continue;
    }
    rightA += Number(o.correct);
    rightB += Number(other);
    diffs.push(Number(other) - Number(o.correct));
    if (o.correct && !other) bCount++;
    if (!o.correct && other) cCount++;
  }
  const n = diffs.length;
  const { mean, lo, hi } = bootstrapMean(diffs, opts);
  return {
    n,
    accA: n ? rightA / n : NaN,
    accB: n ? rightB / n : NaN,
    delta: mean,
    lo,
    hi,
    b: bCount,
    c: cCount,
    p: mcnemarExact(bCount, cCount),
    onlyA,
    onlyB: b.filter((o) => !idsA.has(o.id)).length,
  };
}

/** Accuracy per subject (items without one are left out), subjects in alphabetical order. */
export function bySubject(
  outcomes: readonly Outcome[],
  opts: BootstrapOptions = {},
): GroupAccuracy[] {
  const groups = new Map<string, boolean[]>();
  for (const o of outcomes) {
    if (o.subject === undefined) continue;
    const group = groups.get(o.subject) ?? [];
    group.push(o.correct);
    groups.set(o.subject, group);
  }
  return [...groups.keys()]
    .sort((x, y) => x.localeCompare(y))
    .map((subject) => ({ subject, ...accuracyCI(groups.get(subject) ?? [], opts) }));
}
