import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { compareStages, stageTable, type Stage } from './compare.ts';
import { ladderSvg } from './ladder.ts';
import type { LadderRow } from './ladder-row.ts';
import { comparePaired, type Outcome } from './stats.ts';

const outcomes = (pattern: string): Outcome[] =>
  [...pattern].map((ch, i) => ({ id: `q${i}`, correct: ch === '1' }));

// base 5/10; SFT fixes three items (b=0, c=3: p = 2 * 1/8); DPO fixes the last two
// (b=0, c=2: p = 2 * 1/4); TTT breaks one (b=1, c=0: p = 1).
const stages: Stage[] = [
  { label: 'base', records: outcomes('1111100000') },
  { label: 'SFT', records: outcomes('1111111100') },
  { label: 'DPO', records: outcomes('1111111111') },
  { label: 'DPO+TTT', records: outcomes('0111111111') },
];

describe('compareStages(stages, opts)', () => {
  const rows = compareStages(stages, { seed: 11 });

  it('gives each stage its accuracy and the paired change from the one before', () => {
    expect(rows.map((r) => [r.label, r.acc, r.delta, r.b, r.c, r.p])).toEqual([
      ['base', 0.5, null, null, null, null],
      ['SFT', 0.8, 0.3, 0, 3, 0.25],
      ['DPO', 1, 0.2, 0, 2, 0.5],
      ['DPO+TTT', 0.9, -0.1, 1, 0, 1],
    ]);
    rows.forEach((row, i) => {
      expect(row.lo).toBeLessThanOrEqual(row.acc);
      expect(row.hi).toBeGreaterThanOrEqual(row.acc);
      if (i === 0) return;
      const paired = comparePaired(stages[i - 1].records, stages[i].records, { seed: 11 });
      expect([row.deltaLo, row.deltaHi, row.paired]).toEqual([paired.lo, paired.hi, 10]);
    });
  });

  it('with ids, gives the statistics of that subset only (hand count on q0, q5, q6, q7)', () => {
    const ids = ['q0', 'q5', 'q6', 'q7'];
    const subset = compareStages(stages, { seed: 11, ids });
    // base right on q0 only; SFT on all four (c=3); DPO unchanged; TTT loses q0 (b=1).
    expect(subset.map((r) => [r.label, r.n, r.acc, r.paired, r.delta, r.b, r.c, r.p])).toEqual([
      ['base', 4, 0.25, null, null, null, null, null],
      ['SFT', 4, 1, 4, 0.75, 0, 3, 0.25],
      ['DPO', 4, 1, 4, 0, 0, 0, 1],
      ['DPO+TTT', 4, 0.75, 4, -0.25, 1, 0, 1],
    ]);
    const filtered = stages.map((st) => ({
      ...st,
      records: st.records.filter((r) => ids.includes(r.id)),
    }));
    expect(subset).toEqual(compareStages(filtered, { seed: 11 }));
  });

  it('stageTable(rows) is an arquero table with one row per stage', () => {
    const table = stageTable(rows);
    expect(table.numRows()).toBe(4);
    expect(table.columnNames()).toEqual([
      'label',
      'n',
      'acc',
      'lo',
      'hi',
      'paired',
      'delta',
      'deltaLo',
      'deltaHi',
      'b',
      'c',
      'p',
    ]);
    expect(table.get('delta', 1)).toBe(0.3);
    expect(table.filter((d: { p: number | null }) => d.p !== null && d.p < 0.3).numRows()).toBe(1);
  });
});

describe('ladderSvg(rows, { width, height, document })', () => {
  const ladder: LadderRow[] = [
    {
      label: 'base',
      n: 150,
      acc: 0.42,
      lo: 0.34,
      hi: 0.5,
      paired: null,
      delta: null,
      deltaLo: null,
      deltaHi: null,
      b: null,
      c: null,
      p: null,
    },
    {
      label: 'SFT',
      n: 150,
      acc: 0.5,
      lo: 0.42,
      hi: 0.58,
      paired: 150,
      delta: 0.08,
      deltaLo: 0.02,
      deltaHi: 0.14,
      b: 6,
      c: 18,
      p: 0.0227,
    },
    {
      label: 'DPO',
      n: 150,
      acc: 0.53,
      lo: 0.45,
      hi: 0.61,
      paired: 150,
      delta: 0.03,
      deltaLo: -0.01,
      deltaHi: 0.07,
      b: 5,
      c: 9,
      p: 0.424,
    },
    {
      label: 'DPO+TTT',
      n: 150,
      acc: 0.51,
      lo: 0.43,
      hi: 0.59,
      paired: 150,
      delta: -0.02,
      deltaLo: -0.05,
      deltaHi: 0.01,
      b: 5,
      c: 2,
      p: 0.4531,
    },
  ];

  it('draws one rung, whisker and label per stage in a jsdom document', () => {
    const { document } = new JSDOM('').window;
    const svg = ladderSvg(ladder, { width: 480, height: 280, document });
    expect(svg.getAttribute('viewBox')).toBe('0 0 480 280');
    const stages = [...svg.querySelectorAll('g.stage')].map((g) => g.getAttribute('data-stage'));
    expect(stages).toEqual(['base', 'SFT', 'DPO', 'DPO+TTT']);
    expect(svg.querySelector('.chance')).toBeNull();
    expect(svg.querySelectorAll('line.rung')).toHaveLength(4);
    expect(svg.querySelectorAll('line.ci')).toHaveLength(4);
    const gains = [...svg.querySelectorAll('text.gain')];
    // Read as one label; drawn as two lines, the change over its p.
    expect(gains.map((t) => t.getAttribute('aria-label'))).toEqual([
      '+8.0 pts (p = 0.023)',
      '+3.0 pts (p = 0.424)',
      '\u22122.0 pts (p = 0.453)',
    ]);
    expect([...gains[0].querySelectorAll('tspan')].map((t) => t.textContent)).toEqual([
      '+8.0 pts',
      'p = 0.023',
    ]);
  });

  it('with chance, draws its dashed line at that accuracy and widens the scale to it', () => {
    const { document } = new JSDOM('').window;
    const svg = ladderSvg(ladder, { width: 480, height: 280, document, chance: 0.2 });
    const line = svg.querySelector('.chance line');
    expect(svg.querySelector('.chance text')?.textContent).toBe('chance 20.0%');
    // The scale ran 20%..70% before (the snapshot); with chance at 20% it starts at 10%.
    const axis = [...svg.querySelectorAll('g.tick text')].map((t) => t.textContent);
    expect(axis).toContain('10%');
    expect(Number(line?.getAttribute('y1'))).toBeLessThan(280 - 36);
  });

  it('renders the same SVG as the reviewed snapshot', async () => {
    const { document } = new JSDOM('').window;
    const svg = ladderSvg(ladder, { width: 480, height: 280, document });
    await expect(svg.outerHTML.replace(/></g, '>\n<') + '\n').toMatchFileSnapshot(
      './__snapshots__/ladder.svg',
    );
  });
});
