import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recomputeSeeds, seedsResults, type SeedsResults } from './demo-seeds.ts';
import type { LadderRow } from '../eval/ladder-row.ts';
import { checkPooled } from './verify-seeds.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-verify-seeds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const none = { paired: null, delta: null, deltaLo: null, deltaHi: null, b: null, c: null, p: null };
const rows = (acc: number, gain: number, b: number, c: number): LadderRow[] => [
  { label: 'Base', n: 20, acc, lo: 0, hi: 1, ...none },
  { label: 'SFT', n: 20, acc: acc + gain, lo: 0, hi: 1, ...none, delta: gain, b, c, p: 0.25 },
];

/** Seed run folders as `finemed run` writes them (only the ladder cell matters) and their aggregate. */
function folders(): { agg: string; recorded: SeedsResults } {
  const agg = join(dir, 'tiny-seeds1-2');
  const runs = [
    { seed: 1, dir: join(dir, 'tiny-seed1'), rows: rows(0.2, 0.1, 1, 3) },
    { seed: 2, dir: join(dir, 'tiny-seed2'), rows: rows(0.3, 0.05, 2, 3) },
  ];
  for (const run of runs) {
    mkdirSync(run.dir, { recursive: true });
    const cells = [
      { id: 45, label: 'ladder', mode: 'js', state: 'done', outputs: { ladderRows: run.rows } },
    ];
    writeFileSync(
      join(run.dir, 'results.json'),
      JSON.stringify({ format: 'finemed-results/1', cells }),
    );
  }
  return { agg, recorded: seedsResults('tiny', agg, runs) };
}

describe('checkPooled(dir, recorded)', () => {
  it('finds nothing when the aggregate matches its seed folders', async () => {
    const { agg, recorded } = folders();
    const checked = await checkPooled(agg, JSON.parse(JSON.stringify(recorded)) as SeedsResults);
    expect(checked.differences).toEqual([]);
    expect(checked.numbers).toBeGreaterThan(20);
    expect((await recomputeSeeds(agg, recorded)).pooled[1]).toMatchObject({ b: 3, c: 6 });
  });

  it('names a tampered per-seed number and the pooled figure it no longer explains', async () => {
    const { agg, recorded } = folders();
    const tampered = JSON.parse(JSON.stringify(recorded)) as SeedsResults;
    tampered.perSeed[1].rows[1].c = 9;
    tampered.pooled[1].c = 12;
    const { differences } = await checkPooled(agg, tampered);
    expect(differences).toEqual([
      { cell: 'results.json', path: 'perSeed[1].rows[1].c', expected: 9, actual: 3 },
      { cell: 'results.json', path: 'pooled[1].c', expected: 12, actual: 6 },
    ]);
  });

  it('names a seed folder that is gone', async () => {
    const { agg, recorded } = folders();
    const moved = { ...recorded, runs: [recorded.runs[0], { seed: 2, dir: '../elsewhere' }] };
    await expect(checkPooled(agg, moved)).rejects.toThrow("seed 2's run folder is missing");
  });
});
