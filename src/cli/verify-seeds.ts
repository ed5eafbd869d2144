import { join, resolve } from 'node:path';
import type { Difference } from '../notebook/node/results.ts';
import type { VerifyOptions, VerifyOutcome } from '../notebook/node/verify.ts';
import { recomputeSeeds, type SeedsResults } from './demo-seeds.ts';

/** A `finemed-results/1` stand-in holding one value, so `compareResults` can diff it. */
function asResults(label: string, value: unknown) {
  return {
    format: 'finemed-results/1' as const,
    notebook: '',
    preset: '',
    cells: [{ id: 1, label, mode: 'json', state: 'done', value }],
  };
}

/**
 * The aggregate's per-seed rows and pooled figures recomputed from the seed folders'
 * results.json and compared with the recorded ones, exactly; paths such as `perSeed[1].rows[2].acc`.
 */
export async function checkPooled(
  dir: string,
  recorded: SeedsResults,
): Promise<{ differences: Difference[]; numbers: number }> {
  const { compareResults } = await import('../notebook/node/results.ts');
  const recomputed = await recomputeSeeds(dir, recorded);
  const figures = ({ seeds, runs, perSeed, pooled }: SeedsResults) => ({
    seeds,
    runs,
    perSeed,
    pooled,
  });
  const { differences, numbers } = compareResults(
    asResults('aggregate', figures(recorded)),
    asResults('aggregate', figures(recomputed)),
  );
  // compareResults walks a cell's { value, outputs, error }; the aggregate is all `value`.
  const path = (p: string): string => p.replace(/^value\.?/, '');
  return {
    differences: differences.map((d) => ({ ...d, cell: 'results.json', path: path(d.path) })),
    numbers,
  };
}

/**
 * Verifies a `demo --seeds` folder: re-runs and checks every seed's run folder (as `verify` does
 * a single run), then recomputes the pooled figures and per-seed rows from those folders'
 * results.json and compares them with the aggregate's. Differences name the seed they come from.
 */
export async function verifySeedsFolder(
  dir: string,
  recorded: SeedsResults,
  options: Omit<VerifyOptions, 'dir'>,
): Promise<VerifyOutcome> {
  const { verifyRun } = await import('../notebook/node/verify.ts');
  const pooled = await checkPooled(dir, recorded);
  const outcome: VerifyOutcome = {
    differences: pooled.differences,
    numbers: pooled.numbers,
    inputChanges: [],
    reportPath: join(dir, 'report.html'),
    timedOut: null,
  };
  for (const run of recorded.runs) {
    const seed = await verifyRun({ ...options, dir: resolve(dir, run.dir) });
    outcome.differences.push(
      ...seed.differences.map((d) => ({ ...d, cell: `seed ${run.seed}: ${d.cell}` })),
    );
    outcome.numbers += seed.numbers;
    outcome.inputChanges.push(...seed.inputChanges);
    outcome.timedOut ??= seed.timedOut;
  }
  return outcome;
}
