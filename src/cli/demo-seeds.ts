import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.ts';
import { InputError, UsageError } from '../core/errors.ts';
import { ladderText, type LadderRow } from '../eval/ladder-row.ts';
import { pooledRows, poolSeeds, seedPoints, type PooledRung } from '../eval/seeds.ts';
import type { RunResults } from '../notebook/node/results.ts';
import type { CommandContext } from './command.ts';
import { FLAGSHIP_NOTEBOOK, ladderOf } from './demo.ts';
import { seedsReportHtml } from './demo-seeds-report.ts';
import { runHeadless } from './run.ts';

/** Why items can be pooled over seeds: the sentence the report and results.json carry. */
export const POOLING_NOTE =
  'Each seed synthesizes its own world (knowledge base, training data and held-out questions) ' +
  'and trains every stage on it, so the held-out questions are distinct across seeds: the pooled ' +
  "paired test is McNemar's exact test on each stage's lost and gained questions summed over seeds.";

/** The `results.json` of a multi-seed demo: every seed's ladder and their pooling. */
export interface SeedsResults {
  /** Format marker (`finemed verify` tells this folder from a run folder by it). */
  format: 'finemed-seeds/1';
  /** The preset every seed ran with. */
  preset: string;
  /** The seeds, in the order given. */
  seeds: number[];
  /** Each seed's run folder, relative to this folder. */
  runs: { seed: number; dir: string }[];
  /** Why the pooled test may sum over seeds. */
  note: string;
  /** Each seed's ladder as its run recorded it. */
  perSeed: { seed: number; rows: LadderRow[] }[];
  /** The ladders pooled stage by stage. */
  pooled: PooledRung[];
}

/** `1,2,3` as seeds: integers, at least two, none repeated. */
export function parseSeeds(text: string): number[] {
  const seeds = text.split(',').map((part) => Number(part.trim()));
  const bad = text.split(',').find((part, i) => part.trim() === '' || !Number.isInteger(seeds[i]));
  if (bad !== undefined)
    throw new UsageError(`--seeds takes integers such as 1,2,3; got '${text}'`);
  if (seeds.length < 2)
    throw new UsageError(`--seeds needs at least two seeds (for one, use --seed)`);
  if (new Set(seeds).size !== seeds.length)
    throw new UsageError(`--seeds repeats a seed: '${text}'`);
  return seeds;
}

/** The default aggregate folder: `finemed-demo/PRESET-seeds1-2-3` under the working directory. */
export function defaultSeedsOut(preset: string, seeds: readonly number[]): string {
  return resolve('finemed-demo', `${preset}-seeds${seeds.join('-')}`);
}

/**
 * Where seed `seed`'s run goes: beside the aggregate folder, named as a single-seed run of the
 * same preset is, so the two kinds of run share their folders (and, through the store, artifacts).
 */
export function seedRunDir(out: string, preset: string, seed: number): string {
  return join(dirname(out), `${preset}-seed${seed}`);
}

/** Pools recorded per-seed ladders into the aggregate's contents. */
export function seedsResults(
  preset: string,
  out: string,
  runs: { seed: number; dir: string; rows: LadderRow[] }[],
): SeedsResults {
  const perSeed = runs.map(({ seed, rows }) => ({ seed, rows }));
  return {
    format: 'finemed-seeds/1',
    preset,
    seeds: runs.map((r) => r.seed),
    runs: runs.map((r) => ({ seed: r.seed, dir: relative(out, r.dir) })),
    note: POOLING_NOTE,
    perSeed,
    pooled: poolSeeds(perSeed),
  };
}

/** Writes `results.json` and `report.html` (one ladder, a point per seed) of an aggregate. */
export async function writeSeedsFolder(out: string, results: SeedsResults): Promise<string> {
  await writeJsonAtomic(join(out, 'results.json'), results);
  const { JSDOM } = await import('jsdom');
  const { ladderSvg } = await import('../eval/ladder.ts');
  const { document } = new JSDOM('').window;
  const chart = ladderSvg(pooledRows(results.pooled), {
    document,
    points: seedPoints(results.pooled),
    width: 720,
    height: 360,
    title: `Accuracy by stage over seeds ${results.seeds.join(', ')}`,
  });
  chart.setAttribute('class', 'gain-ladder seeds');
  const reportPath = join(out, 'report.html');
  await writeFileAtomic(reportPath, seedsReportHtml(results, chart.outerHTML));
  return reportPath;
}

/** `finemed demo --seeds 1,2,3`: the recipe per seed, then the pooled ladder. */
export async function runSeedsDemo(
  ctx: CommandContext,
  opts: { preset: string; seeds: number[]; out: string; json: boolean },
): Promise<number> {
  const runs: { seed: number; dir: string; rows: LadderRow[] }[] = [];
  let [seconds, artifacts, reused] = [0, 0, 0];
  for (const seed of opts.seeds) {
    const dir = seedRunDir(opts.out, opts.preset, seed);
    if (!opts.json) ctx.stdout.write(`seed ${seed}: ${dir}\n`);
    const run = await runHeadless(ctx, {
      notebook: FLAGSHIP_NOTEBOOK,
      outDir: dir,
      preset: opts.preset,
      seed,
    });
    const ladder = ladderOf(run.results.cells);
    seconds += run.manifest.totalMs / 1000;
    artifacts += run.manifest.artifacts.length;
    reused += run.manifest.artifacts.filter((a) => a.reused).length;
    if (run.failed.length > 0 || !ladder) {
      ctx.stderr.write(`finemed: seed ${seed} did not finish its ladder; see ${run.reportPath}\n`);
      return 1;
    }
    runs.push({ seed, dir, rows: ladder });
  }
  const results = seedsResults(opts.preset, opts.out, runs);
  const report = await writeSeedsFolder(opts.out, results);
  if (opts.json) {
    ctx.stdout.write(JSON.stringify({ report, seconds, artifacts, reused, ...results }) + '\n');
    return 0;
  }
  const table = ladderText(pooledRows(results.pooled));
  ctx.stdout.write(`\nseeds ${opts.seeds.join(', ')}: mean over seeds\n${table}\n\n`);
  const reuse =
    reused === artifacts
      ? `all ${reused} artifacts reused`
      : `${artifacts - reused} of ${artifacts} artifacts computed, ${reused} reused`;
  ctx.stdout.write(
    `${seconds.toFixed(0)} s (${reuse}); check it with: finemed verify ${opts.out}\n`,
  );
  ctx.stdout.write(`${report}\n`);
  return 0;
}

/** Reads an aggregate folder's `results.json`, or undefined when the folder is a single run's. */
export async function readSeedsResults(dir: string): Promise<SeedsResults | undefined> {
  const file = join(dir, 'results.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let parsed: { format?: unknown };
  try {
    parsed = JSON.parse(text) as { format?: unknown };
  } catch {
    return undefined; // verifyRun reports a broken run folder with its own message
  }
  return parsed.format === 'finemed-seeds/1' ? (parsed as SeedsResults) : undefined;
}

/**
 * The aggregate recomputed from its seed folders' own results.json: what `verify` compares
 * with the recorded aggregate, after re-verifying each seed folder.
 */
export async function recomputeSeeds(dir: string, recorded: SeedsResults): Promise<SeedsResults> {
  const runs = await Promise.all(
    recorded.runs.map(async ({ seed, dir: rel }) => {
      const runDir = resolve(dir, rel);
      const file = join(runDir, 'results.json');
      const text = await readFile(file, 'utf8').catch(() => {
        throw new InputError(`seed ${seed}'s run folder is missing`, { file });
      });
      const rows = ladderOf((JSON.parse(text) as RunResults).cells);
      if (!rows) throw new InputError(`seed ${seed}'s run has no ladder (ladderRows)`, { file });
      return { seed, dir: runDir, rows };
    }),
  );
  return seedsResults(recorded.preset, dir, runs);
}
