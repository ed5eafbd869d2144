import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { ladderSvg } from '../eval/ladder.ts';
import { ladderFormat, type LadderRow } from '../eval/ladder-row.ts';
import type { KernelClient } from '../kernel/client.ts';
import { poolSeeds } from '../eval/seeds.ts';
import { comparePaired, mcnemarExact } from '../eval/stats.ts';
import { Workbench } from './wb.ts';

describe('wb.stats', () => {
  // Statistics never reach the kernel, so a client that refuses every call is enough.
  const client = new Proxy(
    {},
    {
      get: () => () => {
        throw new Error('wb.stats must not call the kernel');
      },
    },
  ) as unknown as KernelClient;
  const wb = new Workbench({ client, maxCostSeconds: 60, isApproved: () => true }).forCell(7);

  it('gives cells the tested statistics, not copies', () => {
    expect(wb.stats.mcnemar).toBe(mcnemarExact);
    expect(wb.stats.comparePaired).toBe(comparePaired);
    expect(wb.stats.poolSeeds).toBe(poolSeeds);
    expect(wb.stats.mcnemar(3, 12)).toBe((2 * 576) / 32768);
  });

  it('pools ladders as `finemed demo --seeds` does', () => {
    const rows = (acc: number, gain: number, b: number, c: number) => [
      { label: 'Base', n: 10, acc, delta: null, b: null, c: null, p: null },
      { label: 'SFT', n: 10, acc: acc + gain, delta: gain, b, c, p: mcnemarExact(b, c) },
    ];
    const pooled = wb.stats.poolSeeds([
      { seed: 1, rows: rows(0.2, 0.1, 1, 2) },
      { seed: 2, rows: rows(0.4, 0.3, 0, 3) },
    ]);
    expect([pooled[1].b, pooled[1].c, pooled[1].p]).toEqual([1, 5, mcnemarExact(1, 5)]);
    expect(pooled[1].delta?.mean).toBeCloseTo(0.2, 12);
  });
});

describe('wb.ladder', () => {
  const client = {} as KernelClient;
  const wb = new Workbench({ client, maxCostSeconds: 60, isApproved: () => true });
  const rows: LadderRow[] = [
    { label: 'Base', n: 10, acc: 0.3, lo: 0.1, hi: 0.6, paired: null, delta: null },
    { label: 'SFT', n: 10, acc: 0.6, lo: 0.3, hi: 0.9, paired: 10, delta: 0.3 },
  ].map((r) => ({ deltaLo: null, deltaHi: null, b: null, c: null, p: null, ...r }));

  it("draws the CLI's and the report's chart, in the document it is given", () => {
    const { document } = new JSDOM('').window;
    const drawn = wb.ladder.chart(rows, { document, chance: 0.25 });
    expect(drawn.outerHTML).toBe(ladderSvg(rows, { document, chance: 0.25 }).outerHTML);
    expect(drawn.getAttribute('class')).toBe('gain-ladder');
    expect(wb.ladder.format).toBe(ladderFormat);
    expect(wb.ladder.cells(rows)[1]['vs previous']).toBe('+30.0 pts');
  });
});
