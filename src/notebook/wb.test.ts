import { describe, expect, it } from 'vitest';
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
