import { join, resolve } from 'node:path';
import { projectRoot } from '../core/version.ts';
import { ladderText, type LadderRow } from '../eval/ladder-row.ts';
import { boolFlag, choiceFlag, intFlag, stringFlag } from './command.ts';
import type { Command, CommandContext } from './command.ts';
import { switchFlag, valueFlag } from './flags.ts';
import { defaultSeedsOut, parseSeeds, runSeedsDemo } from './demo-seeds.ts';
import { runHeadless } from './run.ts';

/** The flagship notebook `finemed demo` runs. */
export const FLAGSHIP_NOTEBOOK = join(projectRoot, 'notebooks', 'finemed-o1.html');

/** The presets the flagship runs on the built-in model. */
export const DEMO_PRESETS = ['tiny', 'demo'] as const;

/** The default output folder: `finemed-demo/PRESET-seedN` under the working directory. */
export function defaultDemoOut(preset: string, seed: number): string {
  return resolve('finemed-demo', `${preset}-seed${seed}`);
}

/** The ladder a flagship run recorded (its `ladderRows` output), or undefined if it has none. */
export function ladderOf(cells: { outputs?: Record<string, unknown> }[]): LadderRow[] | undefined {
  const found = cells.find((c) => c.outputs && 'ladderRows' in c.outputs);
  return found?.outputs?.ladderRows as LadderRow[] | undefined;
}

async function runDemo(ctx: CommandContext): Promise<number> {
  const preset = choiceFlag(ctx, 'preset', DEMO_PRESETS) ?? 'demo';
  const seedsFlag = stringFlag(ctx, 'seeds');
  if (seedsFlag !== undefined) {
    const seeds = parseSeeds(seedsFlag);
    const out = resolve(stringFlag(ctx, 'out') ?? defaultSeedsOut(preset, seeds));
    return runSeedsDemo(ctx, { preset, seeds, out, json: boolFlag(ctx, 'json') });
  }
  const seed = intFlag(ctx, 'seed') ?? 1;
  const out = resolve(stringFlag(ctx, 'out') ?? defaultDemoOut(preset, seed));
  const run = await runHeadless(ctx, { notebook: FLAGSHIP_NOTEBOOK, outDir: out, preset, seed });
  const ladder = ladderOf(run.results.cells);
  const artifacts = run.manifest.artifacts;
  const reused = artifacts.filter((a) => a.reused).length;
  const seconds = run.manifest.totalMs / 1000;
  if (boolFlag(ctx, 'json')) {
    ctx.stdout.write(
      JSON.stringify({
        report: run.reportPath,
        preset,
        seed,
        seconds,
        artifacts: artifacts.length,
        reused,
        ladder: ladder ?? null,
        failed: run.failed,
      }) + '\n',
    );
  } else {
    if (ladder) ctx.stdout.write(`${ladderText(ladder)}\n\n`);
    const reuse =
      reused === artifacts.length
        ? `all ${reused} artifacts reused`
        : `${artifacts.length - reused} of ${artifacts.length} artifacts computed, ${reused} reused; a second run reuses them all`;
    ctx.stdout.write(`${seconds.toFixed(0)} s (${reuse}); check it with: finemed verify ${out}\n`);
    ctx.stdout.write(`${run.reportPath}\n`);
  }
  return run.failed.length > 0 || !ladder ? 1 : 0;
}

/** `finemed demo`: the FineMedLM-o1 recipe end to end (the flagship notebook, headless). */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run the FineMedLM-o1 recipe end to end and print the gain ladder (the main job)',
  flags: {
    preset: valueFlag(
      'tiny|demo',
      'tiny: a smoke run in about a minute; demo: the full demo, minutes',
      'demo',
    ),
    out: valueFlag(
      'DIR',
      'Output folder (default: ./finemed-demo/PRESET-seedN, or PRESET-seedsN-N)',
    ),
    seed: valueFlag('N', 'Seed of data, weights and data order', '1'),
    seeds: valueFlag(
      'N,N,...',
      'Instead of --seed: run the recipe per seed and pool the ladders (see above)',
    ),
    json: switchFlag('Print one JSON summary line on stdout'),
  },
  details:
    'Runs notebooks/finemed-o1.html headless (as `finemed run` does): synthesizes data offline,\n' +
    'pretrains a small model, takes it through SFT, long-reasoning SFT, DPO and test-time\n' +
    'training, evaluates every stage on held-out questions, and writes report.html,\n' +
    'results.json and manifest.json to the output folder. Finished work is kept in the\n' +
    'artifact store ($FINEMED_HOME, default ~/.finemed), so a second run reuses it.\n' +
    "Check a run's numbers with `finemed verify DIR`. No network and no GPU needed.\n\n" +
    'With --seeds 1,2,3 each seed runs into the folder `--seed N` uses (PRESET-seedN, beside the\n' +
    'aggregate), so the two share every artifact; the aggregate folder (--out, default\n' +
    './finemed-demo/PRESET-seeds1-2-3) gets results.json and report.html: per stage the mean\n' +
    'accuracy and gain over seeds with sd and range, and a pooled McNemar test over items x seeds\n' +
    "(each seed synthesizes its own questions). `finemed verify` checks it and every seed's run.",
  run: runDemo,
};
