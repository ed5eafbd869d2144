import { basename, extname, join, resolve } from 'node:path';
import { terminalProgress } from '../core/progress.ts';
import { defaultJobs } from '../kernel/jobs/index.ts';
import type { TimedOut } from '../notebook/node/deadline.ts';
import type { HeadlessRun, HeadlessRunOptions } from '../notebook/node/runner.ts';
import type { SessionEvent } from '../notebook/session.ts';
import { boolFlag, intFlag, numberFlag, stringFlag } from './command.ts';
import type { Command, CommandContext } from './command.ts';
import { repeatableFlag, switchFlag, valueFlag } from './flags.ts';

/** Draws running jobs' progress on stderr while a notebook runs headless. */
export async function cellReporter(ctx: CommandContext): Promise<{
  onEvent: (event: SessionEvent) => void;
  done(): void;
}> {
  const { isJobState } = await import('../notebook/job-run.ts');
  const progress = terminalProgress(ctx.stderr);
  return {
    onEvent: (event) => {
      if (event.type === 'value' && isJobState(event.value) && event.value.status === 'running') {
        if (event.value.progress) progress(event.value.progress);
      }
    },
    done: () => progress.done(),
  };
}

/**
 * Runs a notebook headless with every job type, drawing job progress on stderr and naming each
 * failed cell there (what `run` and `demo` share).
 */
export async function runHeadless(
  ctx: CommandContext,
  options: Omit<HeadlessRunOptions, 'jobs' | 'signal' | 'onEvent'>,
): Promise<HeadlessRun> {
  const { runNotebookHeadless } = await import('../notebook/node/runner.ts');
  const reporter = await cellReporter(ctx);
  const run = await runNotebookHeadless({
    ...options,
    jobs: defaultJobs(),
    signal: ctx.signal,
    onEvent: reporter.onEvent,
  }).finally(reporter.done);
  for (const cell of run.failed)
    ctx.stderr.write(`finemed: ${cell.label} failed: ${cell.message}\n`);
  if (run.timedOut) ctx.stderr.write(`finemed: ${timeoutMessage(run.timedOut)}\n`);
  return run;
}

/** Says that the time limit ended a run. */
export function timeoutMessage(timedOut: TimedOut): string {
  return `the notebook was still running after the ${timedOut.seconds} s time limit, so the run was cut short`;
}

/** The `--timeout SECONDS` flag, in milliseconds. */
export function timeoutFlag(ctx: CommandContext): number | undefined {
  const seconds = numberFlag(ctx, 'timeout', { min: 0.001 });
  return seconds === undefined ? undefined : seconds * 1000;
}

/** Flags `run` and `verify` share. */
export const NOTEBOOK_FLAGS: Command['flags'] = {
  trust: switchFlag("Trust the notebook's code (remembered by its hash)"),
  json: switchFlag('Print one JSON summary line on stdout'),
  timeout: valueFlag(
    'SECONDS',
    'End the run after this long; cells still running fail (default: no limit)',
  ),
};

/** `finemed run NOTEBOOK`: runs a notebook headless and writes its report. */
export const runCommand: Command = {
  name: 'run',
  summary: 'Run a notebook headless: report.html, results.json and manifest.json',
  positionals: ['NOTEBOOK'],
  flags: {
    preset: valueFlag('P', 'Preset the cells see as `preset` (tiny|demo|paper)', 'demo'),
    seed: valueFlag('N', 'Seed the cells see as `runSeed` (default 1)'),
    out: valueFlag('DIR', 'Output folder (default: runs/NOTEBOOK-NAME)'),
    'allow-read': repeatableFlag(
      'DIR',
      "Also let cells read files in DIR (repeatable; besides the notebook's folder and FINEMED_HOME)",
    ),
    ...NOTEBOOK_FLAGS,
  },
  details:
    'Every cell runs in dependency order with every job approved. A notebook outside the\n' +
    "project's notebooks/ folder runs only once trusted (--trust). Exits 1 when a cell fails\n" +
    'or --timeout ends the run (a cell reading `now`, or any endless generator, never finishes).',
  async run(ctx) {
    const notebook = resolve(ctx.args[0]);
    const out = resolve(
      stringFlag(ctx, 'out') ?? join('runs', basename(notebook, extname(notebook))),
    );
    const run = await runHeadless(ctx, {
      notebook,
      outDir: out,
      preset: stringFlag(ctx, 'preset'),
      seed: intFlag(ctx, 'seed'),
      trust: boolFlag(ctx, 'trust'),
      timeoutMs: timeoutFlag(ctx),
      allowRead: (ctx.flags['allow-read'] as string[] | undefined) ?? [],
    });
    if (boolFlag(ctx, 'json')) {
      ctx.stdout.write(
        JSON.stringify({
          report: run.reportPath,
          results: join(out, 'results.json'),
          manifest: join(out, 'manifest.json'),
          cells: run.results.cells.length,
          failed: run.failed,
          timedOut: run.timedOut !== null,
          ms: run.manifest.totalMs,
        }) + '\n',
      );
    } else {
      ctx.stdout.write(`${run.reportPath}\n`);
    }
    return run.failed.length > 0 || run.timedOut ? 1 : 0;
  },
};
