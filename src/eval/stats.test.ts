import { describe, expect, it } from 'vitest';
import {
  accuracyCI,
  bySubject,
  comparePaired,
  mcnemarExact,
  quantile,
  type Outcome,
} from './stats.ts';

const outcomes = (prefix: string, pattern: string): Outcome[] =>
  [...pattern].map((ch, i) => ({ id: `${prefix}${i}`, correct: ch === '1' }));

describe('mcnemarExact(b, c)', () => {
  // Hand values: p = min(1, 2 * sum_{k<=min(b,c)} C(b+c, k) / 2^(b+c)), checked with
  // python3: from math import comb; 2*sum(comb(n,k) for k in range(m+1))/2**n
  it.each([
    [2, 8, 0.109375], // 2 * (1 + 10 + 45) / 1024
    [8, 2, 0.109375],
    [1, 9, 0.021484375], // 2 * 11 / 1024
    [0, 6, 0.03125], // 2 / 64
    [5, 5, 1],
    [0, 0, 1],
    [10, 20, 0.09873714670538902], // 26504551 / 268435456
    [450, 550, 0.0017305360849763176], // 1000 pairs: the last summed in linear space
    [450, 551, 0.001561138839699202], // 1001 pairs: the first summed in log space
    [1000, 1100, 0.030720707864242296], // exact fraction, 2100 pairs (no underflow)
  ])('b=%i c=%i -> %f', (b, c, p) => {
    expect(mcnemarExact(b, c)).toBeCloseTo(p, 12);
  });
});

describe('quantile(sorted, p)', () => {
  it('interpolates between neighbours like numpy', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([0, 10], 0.025)).toBeCloseTo(0.25, 12);
    expect(quantile([7], 0.9)).toBe(7);
    // numpy.quantile([1, 1, 2, 3, 4, 5, 6, 9], 0.975): h = 6.825, 6 + 0.825 * (9 - 6).
    expect(quantile(Float64Array.from([1, 1, 2, 3, 4, 5, 6, 9]), 0.975)).toBeCloseTo(8.475, 12);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('accuracyCI(correct, opts)', () => {
  // 5 of 10 right: a resample's accuracy is Binomial(10, 1/2)/10, whose cdf is 11/1024 =
  // 0.0107 at 0.1 and 56/1024 = 0.0547 at 0.2, so the 2.5% point is 0.2 (and 0.8 by
  // symmetry) for any seed with B=2000.
  it('gives the binomial percentile interval [0.2, 0.8] for 5 of 10', () => {
    const correct = [...'1111100000'].map((c) => c === '1');
    for (const seed of [0, 1, 7, 42]) {
      expect(accuracyCI(correct, { seed })).toEqual({
        n: 10,
        correct: 5,
        acc: 0.5,
        lo: 0.2,
        hi: 0.8,
      });
    }
  });

  it('collapses to the point when every answer is right', () => {
    expect(accuracyCI([true, true, true])).toEqual({ n: 3, correct: 3, acc: 1, lo: 1, hi: 1 });
  });

  // Normal approximation: 0.6 +- 1.96 * sqrt(0.6 * 0.4 / 200) = [0.532, 0.668].
  it('matches the normal approximation on 120 of 200', () => {
    const correct = Array.from({ length: 200 }, (_, i) => i < 120);
    const { lo, hi } = accuracyCI(correct, { seed: 3 });
    expect(lo).toBeGreaterThan(0.52);
    expect(lo).toBeLessThan(0.545);
    expect(hi).toBeGreaterThan(0.655);
    expect(hi).toBeLessThan(0.68);
  });

  it('is reproducible by seed', () => {
    const correct = Array.from({ length: 57 }, (_, i) => i % 3 !== 0);
    expect(accuracyCI(correct, { seed: 9 })).toEqual(accuracyCI(correct, { seed: 9 }));
  });

  it('is NaN for no items', () => {
    expect(accuracyCI([]).acc).toBeNaN();
  });
});

describe('comparePaired(a, b, opts)', () => {
  it('counts discordant pairs on shared ids and bootstraps the difference', () => {
    // B fixes five of A's errors and breaks none: per-item differences are five 1s and five
    // 0s, so the paired interval is the same binomial [0.2, 0.8]; McNemar b=0 c=5 -> 1/16.
    const a = outcomes('q', '1111100000');
    const b = outcomes('q', '1111111111');
    expect(comparePaired(a, b, { seed: 5 })).toEqual({
      n: 10,
      accA: 0.5,
      accB: 1,
      delta: 0.5,
      lo: 0.2,
      hi: 0.8,
      b: 0,
      c: 5,
      p: 0.0625,
      onlyA: 0,
      onlyB: 0,
    });
  });

  it('matches by id, whatever the order, and counts unpaired items', () => {
    const a = [...outcomes('q', '110'), { id: 'extraA', correct: true }];
    const b = [{ id: 'extraB', correct: false }, ...outcomes('q', '011').reverse()];
    const result = comparePaired(a, b);
    expect([result.n, result.b, result.c, result.onlyA, result.onlyB]).toEqual([3, 1, 1, 1, 1]);
    expect(result.delta).toBe(0);
    expect(result.p).toBe(1);
  });

  it('gives a zero-width interval for identical results', () => {
    const a = outcomes('q', '1010011');
    const result = comparePaired(a, a);
    expect([result.delta, result.lo, result.hi, result.p]).toEqual([0, 0, 0, 1]);
  });
});

describe('bySubject(outcomes, opts)', () => {
  it('groups by subject in alphabetical order and leaves out items without one', () => {
    const groups = bySubject([
      { id: '1', correct: true, subject: 'surgery' },
      { id: '2', correct: false, subject: 'anatomy' },
      { id: '3', correct: true, subject: 'anatomy' },
      { id: '4', correct: true },
    ]);
    expect(groups.map((g) => [g.subject, g.n, g.acc])).toEqual([
      ['anatomy', 2, 0.5],
      ['surgery', 1, 1],
    ]);
  });
});
