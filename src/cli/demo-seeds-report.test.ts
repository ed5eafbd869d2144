import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import type { LadderRow } from '../eval/ladder-row.ts';
import { seedsResults } from './demo-seeds.ts';
import { seedsReportHtml } from './demo-seeds-report.ts';

const first = {
  paired: null,
  delta: null,
  deltaLo: null,
  deltaHi: null,
  b: null,
  c: null,
  p: null,
};
const rows = (acc: number, gain: number, b: number, c: number, p: number): LadderRow[] => [
  { label: 'Base <1>', n: 100, acc, lo: acc - 0.05, hi: acc + 0.05, ...first },
  {
    label: 'SFT',
    n: 100,
    acc: acc + gain,
    lo: acc + gain - 0.05,
    hi: acc + gain + 0.05,
    paired: 100,
    delta: gain,
    deltaLo: gain - 0.02,
    deltaHi: gain + 0.02,
    b,
    c,
    p,
  },
];

describe('seedsReportHtml(results, chart)', () => {
  const results = seedsResults('tiny', '/out/tiny-seeds1-2', [
    { seed: 1, dir: '/out/tiny-seed1', rows: rows(0.2, 0.1, 1, 11, 0.0063) },
    { seed: 2, dir: '/out/tiny-seed2', rows: rows(0.3, 0.3, 0, 30, 1e-9) },
  ]);
  const page = new JSDOM(seedsReportHtml(results, '<svg class="gain-ladder"></svg>')).window
    .document;
  const table = (cls: string): string[][] =>
    [...page.querySelectorAll(`table.${cls} tr`)].map((tr) =>
      [...tr.children].map((td) => td.textContent ?? ''),
    );

  it("writes the pooled table with the ladder's cells: mean ± sd, ranges, pooled p", () => {
    const [header, , sft] = table('pooled');
    expect(header).toEqual([
      'stage',
      'n',
      'accuracy',
      'seeds min \u2013 max',
      'vs previous',
      'change min \u2013 max',
      'gained / lost',
      'pooled McNemar p',
    ]);
    expect(sft.slice(0, 5)).toEqual([
      'SFT',
      '200',
      '45.0%',
      '30.0% \u2013 60.0%',
      '+20.0 \u00b1 14.1 pts',
    ]);
    expect(sft.slice(5)).toEqual(['+10.0 \u2013 +30.0 pts', '41 / 1', '<0.001']);
  });

  it('writes each seed with its own interval and p, stage names escaped', () => {
    const perSeed = table('per-seed');
    expect(perSeed[0].slice(0, 2)).toEqual(['seed', 'stage']);
    expect(perSeed.slice(1).map((r) => [r[0], r[1], r.at(-1)])).toEqual([
      ['1', 'Base <1>', ''],
      ['1', 'SFT', '0.006'],
      ['2', 'Base <1>', ''],
      ['2', 'SFT', '<0.001'],
    ]);
  });
});
