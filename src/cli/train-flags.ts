import { UsageError } from '../core/errors.ts';
import { terminalProgress } from '../core/progress.ts';
import type { Warmup } from '../engine/index.ts';
import { loadModel, type CausalLM } from '../model/causal-lm.ts';
import type { TrainSummary } from '../train/output.ts';
import { TRAIN_PRESETS } from '../train/presets.ts';
import { ALL_LINEAR, type StageOptions } from '../train/stage.ts';
import {
  boolFlag,
  choiceFlag,
  intFlag,
  numberFlag,
  requiredFlag,
  stringFlag,
  type CommandContext,
  type FlagSpec,
} from './command.ts';
import { printSkipped, rowFlags, rowOptions } from './row-flags.ts';

/** Flags every training stage takes. */
export const stageFlags: Record<string, FlagSpec> = {
  model: {
    type: 'string',
    value: 'DIR',
    description: 'Model folder to start from (trained in place in memory)',
  },
  data: { type: 'string', value: 'FILE', description: 'Training rows, JSONL in TRL format' },
  out: {
    type: 'string',
    value: 'DIR',
    description: 'Where the trained model, checkpoints and train_result.json go',
  },
  'eval-data': {
    type: 'string',
    value: 'FILE',
    description: 'Held-out rows for the evaluation loss',
  },
  'eval-split': {
    type: 'string',
    value: 'F',
    description: 'Hold out this fraction of --data instead (seeded)',
  },
  preset: {
    type: 'string',
    value: TRAIN_PRESETS.join('|'),
    description:
      'Hyper-parameter preset (default: tiny/demo when the model has that shape, else paper)',
  },
  lr: { type: 'string', value: 'LR', description: 'Peak learning rate' },
  epochs: { type: 'string', value: 'N', description: 'Passes over the data (may be fractional)' },
  'max-steps': { type: 'string', value: 'N', description: 'Stop after N optimizer steps' },
  'batch-size': { type: 'string', value: 'N', description: 'Rows (pairs) per micro-batch' },
  'grad-accum': { type: 'string', value: 'N', description: 'Micro-batches per optimizer step' },
  'max-length': { type: 'string', value: 'N', description: 'Longest row in tokens' },
  truncation: {
    type: 'string',
    value: 'truncate|error',
    description: 'Rows over --max-length: cut (counted) or stop',
  },
  schedule: {
    type: 'string',
    value: 'cosine|linear|constant',
    description: 'Learning-rate schedule after warmup',
  },
  warmup: {
    type: 'string',
    value: 'F|N',
    description: 'Warmup: a fraction of the steps (< 1) or a step count',
  },
  'weight-decay': { type: 'string', value: 'W', description: 'Decoupled weight decay' },
  'max-grad-norm': {
    type: 'string',
    value: 'C',
    description: 'Global gradient-norm clipping (0 = off)',
  },
  optimizer: { type: 'string', value: 'adamw|sgd', description: 'Optimizer', default: 'adamw' },
  'lora-rank': {
    type: 'string',
    value: 'R',
    description: 'Train LoRA adapters of this rank instead of all weights',
  },
  'lora-alpha': {
    type: 'string',
    value: 'A',
    description: 'LoRA scale numerator (default 2 x rank)',
  },
  'lora-targets': {
    type: 'string',
    value: 'LIST',
    description: `Comma-separated modules to adapt (default ${ALL_LINEAR.join(',')})`,
  },
  seed: {
    type: 'string',
    value: 'N',
    description: 'Seed of data order, split and adapters',
    default: '0',
  },
  resume: {
    type: 'boolean',
    description:
      'Continue from the newest intact checkpoint in --out (damaged ones are skipped, named)',
  },
  'eval-every': {
    type: 'string',
    value: 'N',
    description: 'Evaluate every N steps (default: at the end)',
  },
  'save-every': {
    type: 'string',
    value: 'N',
    description: 'Checkpoint every N steps (default: only on Ctrl-C)',
  },
  'keep-checkpoints': { type: 'string', value: 'K', description: 'Checkpoints kept', default: '2' },
  ...rowFlags,
  threads: { type: 'string', value: 'N', description: 'ONNX Runtime threads (default: all cores)' },
  json: { type: 'boolean', description: 'Print one JSON object on the last line' },
};

function warmupFlag(ctx: CommandContext): Warmup | undefined {
  const value = numberFlag(ctx, 'warmup', { min: 0 });
  if (value === undefined) return undefined;
  if (value < 1) return { fraction: value };
  if (!Number.isInteger(value))
    throw new UsageError(`--warmup must be a fraction below 1 or a whole step count, got ${value}`);
  return { steps: value };
}

/** The options every stage shares, from the flags. */
export function stageOptions(ctx: CommandContext): StageOptions {
  const threads = intFlag(ctx, 'threads', { min: 1, max: 256 });
  const rank = intFlag(ctx, 'lora-rank', { min: 1 });
  const targets = stringFlag(ctx, 'lora-targets');
  return {
    outDir: requiredFlag(ctx, 'out'),
    preset: choiceFlag(ctx, 'preset', TRAIN_PRESETS),
    seed: intFlag(ctx, 'seed') ?? 0,
    lr: numberFlag(ctx, 'lr', { min: 0 }),
    epochs: numberFlag(ctx, 'epochs', { min: 0 }),
    maxSteps: intFlag(ctx, 'max-steps', { min: 1 }),
    batchSize: intFlag(ctx, 'batch-size', { min: 1 }),
    gradAccum: intFlag(ctx, 'grad-accum', { min: 1 }),
    maxLength: intFlag(ctx, 'max-length', { min: 2 }),
    truncation: choiceFlag(ctx, 'truncation', ['truncate', 'error'] as const),
    schedule: choiceFlag(ctx, 'schedule', ['cosine', 'linear', 'constant'] as const),
    warmup: warmupFlag(ctx),
    weightDecay: numberFlag(ctx, 'weight-decay', { min: 0 }),
    maxGradNorm: numberFlag(ctx, 'max-grad-norm', { min: 0 }),
    optimizer: choiceFlag(ctx, 'optimizer', ['adamw', 'sgd'] as const),
    lora: rank
      ? {
          r: rank,
          alpha: numberFlag(ctx, 'lora-alpha', { min: 0 }),
          targetModules: targets?.split(',').map((t) => t.trim()),
        }
      : undefined,
    resume: boolFlag(ctx, 'resume'),
    evalEvery: intFlag(ctx, 'eval-every', { min: 1 }),
    saveEvery: intFlag(ctx, 'save-every', { min: 1 }),
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
