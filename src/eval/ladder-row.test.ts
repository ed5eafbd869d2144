import { describe, expect, it } from 'vitest';
import { ladderCells, ladderFormat as f, ladderText, type LadderRow } from './ladder-row.ts';
import { pooledRows, poolSeeds } from './seeds.ts';

describe('ladderFormat', () => {
  it('writes accuracies, gains with or without sd, and p-values one way', () => {
    expect([f.pct(0.4213), f.pct(null), f.pct(NaN)]).toEqual(['42.1%', '\u2013', '\u2013']);
    expect(f.interval(0.1, 0.25)).toBe('10.0% \u2013 25.0%');
    expect([f.gain(0.08), f.gain(-0.02), f.gain(0)]).toEqual([
      '+8.0 pts',
      '\u22122.0 pts',
      '\u00b10.0 pts',
    ]);
    expect(f.gain(0.3, 0.2)).toBe('+30.0 \u00b1 20.0 pts');
    expect(f.gains(-0.02, 0.08)).toBe('\u22122.0 \u2013 +8.0 pts');
    expect([f.p(0.0227), f.p(0.0004), f.p(null)]).toEqual(['0.023', '<0.001', '']);
    expect([f.pLabel(0.0227), f.pLabel(0.0004)]).toEqual(['p = 0.023', 'p < 0.001']);
    expect(f.change({ delta: 0.08, p: 0.0227 })).toBe('+8.0 pts (p = 0.023)');
    expect(f.change({ delta: null, p: null })).toBe('');
  });
});

describe('ladderCells(rows)', () => {
  const rung = (label: string, acc: number, delta: number | null, b = 0, c = 0): LadderRow => ({
    label,
    n: 10,
    acc,
    lo: acc - 0.1,
    hi: acc + 0.1,
    paired: delta === null ? null : 10,
    delta,
    deltaLo: delta === null ? null : delta - 0.1,
    deltaHi: delta === null ? null : delta + 0.1,
    b: delta === null ? null : b,
    c: delta === null ? null : c,
    p: delta === null ? null : 0.5,
  });

  it('names the intervals of a pooled ladder as ranges over seeds and its p as pooled', () => {
    const pooled = pooledRows(
      poolSeeds([
        { seed: 1, rows: [rung('Base', 0.2, null), rung('SFT', 0.5, 0.3, 1, 4)] },
        { seed: 2, rows: [rung('Base', 0.4, null), rung('SFT', 0.5, 0.1, 2, 3)] },
      ]),
    );
    expect(ladderCells(pooled)[1]).toEqual({
      stage: 'SFT',
      n: '20',
      accuracy: '50.0%',
      'seeds min \u2013 max': '50.0% \u2013 50.0%',
      'vs previous': '+20.0 \u00b1 14.1 pts',
      'change min \u2013 max': '+10.0 \u2013 +30.0 pts',
      'gained / lost': '7 / 3',
      'pooled McNemar p': f.p(pooled[1].p),
    });
  });

  it('ladderText lines the cells up under their headings', () => {
    const lines = ladderText([rung('Base', 0.2, null), rung('SFT', 0.5, 0.3, 1, 4)]).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^stage +n {2}accuracy {9}95% CI {2}vs previous/);
    expect(lines[2]).toMatch(/^SFT +10 +50\.0% .* \+30\.0 pts .* 4 \/ 1 +0\.500$/);
  });
});
