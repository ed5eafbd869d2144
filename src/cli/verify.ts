import { resolve } from 'node:path';
import { defaultJobs } from '../kernel/jobs/index.ts';
import { boolFlag } from './command.ts';
import type { Command } from './command.ts';
import { switchFlag } from './flags.ts';
import { NOTEBOOK_FLAGS, cellReporter, timeoutFlag, timeoutMessage } from './run.ts';

/** `finemed verify DIR`: re-runs a recorded run and checks its numbers. */
export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Re-run the notebook of a `finemed run` folder and check every number reproduces',
  positionals: ['DIR'],
  flags: {
    reuse: switchFlag('Reuse finished artifacts instead of recomputing every job'),
    ...NOTEBOOK_FLAGS,
  },
  details:
    'Numbers must match exactly unless their cell declares a tolerance with a comment such as\n' +
    "'// @tolerance 1e-6' or '// @tolerance abs=1e-6 rel=1e-3'. Exits 1 on any difference\n" +
    'or when --timeout ends the re-run. On a `finemed demo --seeds` folder it verifies every\n' +
    "seed's run folder, then recomputes the pooled figures from those folders' results.json.",
  async run(ctx) {
    const dir = resolve(ctx.args[0]);
    const { verifyRun } = await import('../notebook/node/verify.ts');
    const { readSeedsResults } = await import('./demo-seeds.ts');
    const { verifySeedsFolder } = await import('./verify-seeds.ts');
    const reporter = await cellReporter(ctx);
    const options = {
      reuse: boolFlag(ctx, 'reuse'),
      trust: boolFlag(ctx, 'trust'),
      jobs: defaultJobs(),
      signal: ctx.signal,
      onEvent: reporter.onEvent,
      timeoutMs: timeoutFlag(ctx),
    };
    const seeds = await readSeedsResults(dir);
    const outcome = await (
      seeds ? verifySeedsFolder(dir, seeds, options) : verifyRun({ ...options, dir })
    ).finally(reporter.done);
    if (outcome.timedOut) ctx.stderr.write(`finemed: ${timeoutMessage(outcome.timedOut)}\n`);
    for (const change of outcome.inputChanges) {
      const now = change.now ? `now ${change.now.slice(0, 12)}` : 'now missing';
      ctx.stdout.write(
        `input changed: ${change.path} (was ${change.recorded.slice(0, 12)}, ${now})\n`,
      );
    }
    for (const d of outcome.differences) {
      const where = d.path ? `${d.cell} ${d.path}` : d.cell;
      ctx.stdout.write(
        `differs: ${where}: recorded ${JSON.stringify(d.expected)}, re-run ${JSON.stringify(d.actual)}\n`,
      );
    }
    const verdict =
      outcome.differences.length === 0
        ? `verify: all ${outcome.numbers} numbers reproduced`
        : `verify: ${outcome.differences.length} value(s) differ (${outcome.numbers} numbers checked)`;
    if (boolFlag(ctx, 'json')) {
      ctx.stdout.write(
        JSON.stringify({
          reproduced: outcome.differences.length === 0,
          numbers: outcome.numbers,
          differences: outcome.differences,
          inputChanges: outcome.inputChanges,
          report: outcome.reportPath,
          timedOut: outcome.timedOut !== null,
        }) + '\n',
      );
    } else {
      ctx.stdout.write(`${verdict}\n`);
    }
    return outcome.differences.length === 0 && !outcome.timedOut ? 0 : 1;
  },
};
