import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { ladderSvg } from './ladder.ts';
import {
  pooledRows,
  poolSeeds,
  seedPoints,
  spread,
  type SeedLadder,
  type SeedRung,
} from './seeds.ts';

const rung = (label: string, acc: number, change?: [number, number, number]): SeedRung => ({
  label,
  n: 10,
  acc,
  delta: change ? change[0] : null,
  b: change ? change[1] : null,
  c: change ? change[2] : null,
  p: change ? 0.5 : null,
});

// Three seeds of a three-stage ladder; change = [delta, lost (b), gained (c)].
const ladders: SeedLadder[] = [
  {
    seed: 1,
    rows: [rung('Base', 0.2), rung('SFT', 0.5, [0.3, 1, 4]), rung('DPO', 0.4, [-0.1, 2, 1])],
  },
  {
    seed: 2,
    rows: [rung('Base', 0.3), rung('SFT', 0.4, [0.1, 2, 3]), rung('DPO', 0.6, [0.2, 0, 2])],
  },
  {
    seed: 3,
    rows: [rung('Base', 0.1), rung('SFT', 0.6, [0.5, 0, 5]), rung('DPO', 0.5, [-0.1, 2, 1])],
  },
];

describe('poolSeeds(ladders)', () => {
  const pooled = poolSeeds(ladders);

  it('gives each stage its mean, sample sd and range over seeds', () => {
    expect(pooled.map((r) => r.label)).toEqual(['Base', 'SFT', 'DPO']);
    expect(pooled[0].n).toBe(30);
    expect(pooled[0].acc.mean).toBeCloseTo(0.2, 12);
    expect(pooled[0].acc.sd).toBeCloseTo(0.1, 12); // sqrt((0 + 0.01 + 0.01) / 2)
    expect([pooled[0].acc.min, pooled[0].acc.max]).toEqual([0.1, 0.3]);
    expect(pooled[1].delta!.mean).toBeCloseTo(0.3, 12);
    expect(pooled[1].delta!.sd).toBeCloseTo(0.2, 12); // sqrt((0 + 0.04 + 0.04) / 2)
    expect([pooled[1].delta!.min, pooled[1].delta!.max]).toEqual([0.1, 0.5]);
    expect(pooled[2].delta!.mean).toBeCloseTo(0, 12);
    expect(pooled[2].delta!.sd).toBeCloseTo(Math.sqrt(0.03), 12);
  });

  it("tests the pooled discordant counts with McNemar's exact test", () => {
    // SFT: 3 lost, 12 gained; 2 P(X <= 3 | n = 15) = 2 (1 + 15 + 105 + 455) / 2^15.
    expect([pooled[1].b, pooled[1].c]).toEqual([3, 12]);
    expect(pooled[1].p).toBe((2 * 576) / 32768);
    // DPO: 4 lost, 4 gained: no evidence either way.
    expect([pooled[2].b, pooled[2].c, pooled[2].p]).toEqual([4, 4, 1]);
    expect([pooled[0].b, pooled[0].c, pooled[0].p, pooled[0].delta]).toEqual([
      null,
      null,
      null,
      null,
    ]);
  });

  it('keeps every seed row', () => {
    expect(pooled[1].perSeed).toEqual([
      { seed: 1, acc: 0.5, delta: 0.3, p: 0.5 },
      { seed: 2, acc: 0.4, delta: 0.1, p: 0.5 },
      { seed: 3, acc: 0.6, delta: 0.5, p: 0.5 },
    ]);
  });

  it('refuses one seed, a repeated seed and ladders of different stages, naming them', () => {
    expect(() => poolSeeds(ladders.slice(0, 1))).toThrow('at least two seeds, got 1');
    expect(() => poolSeeds([ladders[0], ladders[0]])).toThrow('seed 1 is given twice');
    const short = { seed: 4, rows: ladders[0].rows.slice(0, 2) };
    expect(() => poolSeeds([ladders[0], short])).toThrow(
      'seed 4 has stages [Base, SFT], seed 1 [Base, SFT, DPO]',
    );
    const noCounts = {
      seed: 5,
      rows: [
        rung('Base', 0.2),
        { ...rung('SFT', 0.3, [0.1, 1, 2]), b: null },
        rung('DPO', 0.3, [0, 0, 0]),
      ],
    };
    expect(() => poolSeeds([ladders[0], noCounts])).toThrow('seed 5, stage SFT');
  });
});

describe('spread(values)', () => {
  it('is the mean, sample sd and range', () => {
    expect(spread([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({
      mean: 5,
      sd: Math.sqrt(32 / 7),
      min: 2,
      max: 9,
    });
  });
});

describe('pooledRows(pooled) and seedPoints(pooled) drawn by ladderSvg', () => {
  it('puts one point per seed on every rung, the rung at the mean', () => {
    const { document } = new JSDOM('').window;
    const pooled = poolSeeds(ladders);
    const svg = ladderSvg(pooledRows(pooled), { document, points: seedPoints(pooled) });
    const dots = [...svg.querySelectorAll('circle.point')];
    expect(dots).toHaveLength(9);
    for (const stage of ['Base', 'SFT', 'DPO']) {
      const names = dots.filter((d) => d.getAttribute('data-stage') === stage);
      expect(names.map((d) => d.getAttribute('data-name'))).toEqual(['seed 1', 'seed 2', 'seed 3']);
    }
    expect(dots[4].querySelector('title')?.textContent).toBe('seed 2: 40.0%');
    // Higher accuracy sits higher: seed 3's SFT dot (60%) above seed 2's (40%).
    expect(Number(dots[5].getAttribute('cy'))).toBeLessThan(Number(dots[4].getAttribute('cy')));
    expect(svg.querySelectorAll('line.rung')).toHaveLength(3);
    const gains = [...svg.querySelectorAll('text.gain')];
    // Read as one label; drawn as two lines, the change over its p.
    expect(gains.map((t) => t.getAttribute('aria-label'))).toEqual([
      '+30.0 \u00b1 20.0 pts (p = 0.035)',
      '\u00b10.0 \u00b1 17.3 pts (p = 1.000)',
    ]);
  });

  it('refuses a point on a stage without a rung', () => {
    const { document } = new JSDOM('').window;
    const rows = pooledRows(poolSeeds(ladders));
    const points = [{ label: 'TTT', acc: 0.5, name: 'seed 9' }];
    expect(() => ladderSvg(rows, { document, points })).toThrow('seed 9 is on stage TTT');
  });
});
