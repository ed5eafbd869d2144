import { terminalProgress } from '../core/progress.ts';
import { loadModel, type CausalLM } from '../model/causal-lm.ts';
import { knobFlags, knobsFromFlags } from '../train/knobs/knob.ts';
import { LOOP_KNOBS, loopOptions } from '../train/knobs/loop.ts';
import type { TrainSummary } from '../train/output.ts';
import type { StageOptions } from '../train/stage.ts';
import { boolFlag, intFlag, requiredFlag } from './command.ts';
import type { CommandContext } from './command.ts';
import { jsonFlag, switchFlag, threadsFlag, valueFlag, type FlagSpec } from './flags.ts';
import { printSkipped, rowFlags, rowOptions } from './row-flags.ts';

/** Flags every training stage takes: its inputs, the loop knobs, and the run's bookkeeping. */
export const stageFlags: Record<string, FlagSpec> = {
  model: valueFlag('DIR', 'Model folder to start from (trained in place in memory)'),
  data: valueFlag('FILE', 'Training rows, JSONL in TRL format'),
  out: valueFlag('DIR', 'Where the trained model, checkpoints and train_result.json go'),
  'eval-data': valueFlag('FILE', 'Held-out rows for the evaluation loss'),
  ...knobFlags(LOOP_KNOBS),
  resume: switchFlag(
    'Continue from the newest intact checkpoint in --out (damaged ones are skipped, named)',
  ),
  'keep-checkpoints': valueFlag('K', 'Checkpoints kept', '2'),
  ...rowFlags,
  threads: threadsFlag,
  json: jsonFlag,
};

/** The options every stage shares, from the flags: the loop knobs mapped as a job maps them. */
export function stageOptions(ctx: CommandContext): StageOptions & { evalSplit?: number } {
  const threads = intFlag(ctx, 'threads', { min: 1, max: 256 });
  return {
    ...loopOptions(knobsFromFlags(LOOP_KNOBS, ctx.flags)),
    outDir: requiredFlag(ctx, 'out'),
    resume: boolFlag(ctx, 'resume'),
    keepCheckpoints: intFlag(ctx, 'keep-checkpoints', { min: 1 }),
    ...rowOptions(ctx),
    onSkipped: (rows) => printSkipped(ctx, rows),
    session: threads ? { threads } : undefined,
    signal: ctx.signal,
  };
}

/** Loads `--model` with the `--threads` setting. */
export function modelFrom(ctx: CommandContext, flag = 'model'): Promise<CausalLM> {
  const threads = intFlag(ctx, 'threads', { min: 1, max: 256 });
  return loadModel(requiredFlag(ctx, flag), { session: threads ? { threads } : {} });
}

/** Runs a stage with progress on stderr, then prints its summary (one JSON line with `--json`). */
export async function runStage(
  ctx: CommandContext,
  train: (model: CausalLM, options: StageOptions) => Promise<{ summary: TrainSummary }>,
): Promise<void> {
  const options = stageOptions(ctx);
  const model = await modelFrom(ctx);
  const progress = terminalProgress(ctx.stderr);
  try {
    // Notices (the checkpoint resumed from, damaged ones skipped) are lines of their own.
    const onNotice = (message: string): void => {
      progress.done();
      ctx.stderr.write(`${message}\n`);
    };
    const { summary } = await train(model, { ...options, onProgress: progress, onNotice });
    progress.done();
    const note = (n: unknown, what: string): string =>
      typeof n === 'number' && n > 0 ? `, ${n} ${what}` : '';
    ctx.stderr.write(
      `${summary.stage} (${summary.preset} preset): ${summary.steps} steps` +
        note(summary.skipped_rows, 'malformed rows skipped') +
        note(summary.truncated_rows, `rows cut to the maximum length`) +
        note(summary.dropped_rows, 'rows dropped (nothing left to learn after cutting)') +
        '\n',
    );
    if (boolFlag(ctx, 'json')) {
      ctx.stdout.write(JSON.stringify(summary) + '\n');
    } else {
      const evalLoss =
        summary.eval_loss === null ? '' : `, held-out loss ${summary.eval_loss.toFixed(4)}`;
      ctx.stdout.write(
        `train loss ${summary.train_loss_first?.toFixed(4)} -> ${summary.train_loss_last?.toFixed(4)}${evalLoss}\n` +
          `model written to ${summary.out}\n`,
      );
    }
  } finally {
    progress.done();
    await model.dispose();
  }
}
