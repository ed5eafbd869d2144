import { join, resolve } from 'node:path';
import { projectRoot } from '../core/version.ts';
import {
  boolFlag,
  choiceFlag,
  intFlag,
  stringFlag,
  type Command,
  type CommandContext,
} from './command.ts';
import { defaultSeedsOut, parseSeeds, runSeedsDemo } from './demo-seeds.ts';
import { runHeadless } from './run.ts';

/** The flagship notebook `finemed demo` runs. */
export const FLAGSHIP_NOTEBOOK = join(projectRoot, 'notebooks', 'finemed-o1.html');

/** The presets the flagship runs on the built-in model. */
export const DEMO_PRESETS = ['tiny', 'demo'] as const;

/** One rung of the gain ladder as the flagship's `ladderRows` cell records it. */
export interface LadderRung {
  /** The stage. */
  label: string;
  /** Questions scored. */
  n: number;
  /** Accuracy. */
  acc: number;
  /** 95% interval, lower end. */
  lo: number;
  /** 95% interval, upper end. */
  hi: number;
  /** Change from the previous stage (null for the first). */
  delta: number | null;
  /** McNemar p of that change (null for the first). */
  p: number | null;
  /** Questions the previous stage got right and this one wrong (null for the first). */
  b?: number | null;
  /** Questions the previous stage got wrong and this one right (null for the first). */
  c?: number | null;
  /** Spread of `delta` over seeds, when the rung pools several (shown as `± sd`). */
  deltaSd?: number;
}

/** The default output folder: `finemed-demo/PRESET-seedN` under the working directory. */
export function defaultDemoOut(preset: string, seed: number): string {
  return resolve('finemed-demo', `${preset}-seed${seed}`);
}

/** The ladder a flagship run recorded (its `ladderRows` output), or undefined if it has none. */
export function ladderOf(cells: { outputs?: Record<string, unknown> }[]): LadderRung[] | undefined {
  const found = cells.find((c) => c.outputs && 'ladderRows' in c.outputs);
  return found?.outputs?.ladderRows as LadderRung[] | undefined;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Column headings of {@link ladderTable} that a pooled ladder renames. */
export interface LadderHeadings {
  /** What `lo - hi` is (default `95% CI`). */
  interval?: string;
  /** What `p` is (default `McNemar p`). */
  p?: string;
}

/** The ladder as a terminal table: stage, accuracy, 95% CI, change and McNemar p. */
export function ladderTable(rows: readonly LadderRung[], headings: LadderHeadings = {}): string {
  const points = (d: number): string => Math.abs(100 * d).toFixed(1);
  const lines = rows.map((r) => [
    r.label,
    pct(r.acc),
    `${pct(r.lo)} - ${pct(r.hi)}`,
    r.delta === null
      ? ''
      : `${r.delta >= 0 ? '+' : '-'}${points(r.delta)}${r.deltaSd === undefined ? '' : ` ± ${points(r.deltaSd)}`} pts`,
    r.p === null ? '' : r.p < 0.001 ? '<0.001' : r.p.toFixed(3),
  ]);
  const header = [
    'stage',
    'accuracy',
    headings.interval ?? '95% CI',
    'vs previous',
    headings.p ?? 'McNemar p',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [format(header), ...lines.map(format)].join('\n');
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
    if (ladder) ctx.stdout.write(`${ladderTable(ladder)}\n\n`);
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
    preset: {
      type: 'string',
      value: 'tiny|demo',
      description: 'tiny: a smoke run in about a minute; demo: the full demo, minutes',
      default: 'demo',
    },
    out: {
      type: 'string',
      value: 'DIR',
      description: 'Output folder (default: ./finemed-demo/PRESET-seedN, or PRESET-seedsN-N)',
    },
    seed: {
      type: 'string',
      value: 'N',
      description: 'Seed of data, weights and data order',
      default: '1',
    },
    seeds: {
      type: 'string',
      value: 'N,N,...',
      description: 'Instead of --seed: run the recipe per seed and pool the ladders (see above)',
    },
    json: { type: 'boolean', description: 'Print one JSON summary line on stdout' },
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
