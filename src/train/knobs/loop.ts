// Browser-safe and free of ONNX Runtime (see knob.ts).
import { z } from 'zod';
import type { Warmup } from '../../engine/index.ts';
import { PROJECTION_NAMES } from '../../model/param-layout.ts';
import { knob, knobShape, type KnobValues } from './knob.ts';

/** Hyper-parameter presets: `tiny` and `demo` for the built-in models, `paper` for real ones. */
export const TRAIN_PRESETS = ['tiny', 'demo', 'paper'] as const;

/** A count of one or more. */
export const positiveInt = z.number().int().min(1);

/** LoRA settings (PEFT's names), given on the command line as `--lora-*` flags. */
export const LORA_KNOBS = {
  r: knob(positiveInt, 'Train LoRA adapters of this rank instead of all weights', {
    flag: 'lora-rank',
    value: 'R',
  }),
  alpha: knob(z.number().positive().optional(), 'LoRA scale numerator (default 2 x rank)', {
    flag: 'lora-alpha',
    value: 'A',
  }),
  dropout: knob(
    z.number().min(0).max(1).optional(),
    'Dropout on LoRA inputs (default 0; above 0 a resumed run is not bit-identical)',
    { flag: 'lora-dropout', value: 'P' },
  ),
  targetModules: knob(
    z.array(z.string().min(1)).optional(),
    `Comma-separated modules to adapt (default ${PROJECTION_NAMES.join(',')})`,
    { flag: 'lora-targets', value: 'LIST' },
  ),
};

/** The `lora` knob every trainable stage takes. */
export const loraKnob = knob(
  // Strict, as the job's top level is: a misspelt field fails instead of being dropped.
  z.strictObject(knobShape(LORA_KNOBS)).optional(),
  'LoRA adapters instead of full parameters',
  { flag: null, fields: LORA_KNOBS, trl: null },
);

/** The optimizer knob (a fresh one per question in TTT). */
export const optimizerKnob = knob(z.enum(['adamw', 'sgd']).optional(), 'Optimizer', {
  shown: 'adamw',
  trl: (o?: 'adamw' | 'sgd') => ({ optim: o === 'sgd' ? 'sgd' : 'adamw_torch' }),
});

/**
 * Row-reading knobs; the CLI's shared `--skip-bad-rows`/`--max-row-bytes` flags set them (an
 * export applies them while it writes the rows).
 */
export const ROW_KNOBS = {
  skipBadRows: knob(z.boolean().default(false), 'Skip malformed rows (counted)', {
    flag: null,
    trl: null,
  }),
  maxRowBytes: knob(positiveInt.optional(), 'Longest row in bytes (default 8 MiB)', {
    flag: null,
    trl: null,
  }),
};

/** The workbench's schedules under their transformers names (ours warm up, then follow the kind). */
const TRL_SCHEDULES = {
  cosine: 'cosine',
  linear: 'linear',
  constant: 'constant_with_warmup',
} as const;

/**
 * The optimizer-loop knobs SFT and DPO share (`wb.sft`, `wb.dpo`, `finemed train`), in the
 * order an exported TRL config lists them.
 */
export const LOOP_KNOBS = {
  // A bundle trains on all its rows.
  evalSplit: knob(
    z.number().min(0).max(0.5).optional(),
    'Hold out this fraction of --data instead (seeded)',
    { value: 'F', trl: false },
  ),
  // Resolved into the knobs below before a bundle is written.
  preset: knob(
    z.enum(TRAIN_PRESETS).optional(),
    'Hyper-parameter preset (default: tiny/demo when the model has that shape, else paper)',
    { trl: null },
  ),
  seed: knob(z.number().int().default(0), 'Seed of data order, split and adapters', {
    value: 'N',
    trl: 'seed',
  }),
  lr: knob(z.number().positive().optional(), 'Peak learning rate', {
    value: 'LR',
    trl: 'learning_rate',
  }),
  epochs: knob(z.number().positive().optional(), 'Passes over the data (may be fractional)', {
    value: 'N',
    trl: 'num_train_epochs',
  }),
  batchSize: knob(positiveInt.optional(), 'Rows (pairs) per micro-batch', {
    value: 'N',
    trl: 'per_device_train_batch_size',
  }),
  gradAccum: knob(positiveInt.optional(), 'Micro-batches per optimizer step', {
    value: 'N',
    trl: 'gradient_accumulation_steps',
  }),
  maxLength: knob(z.number().int().min(8).optional(), 'Longest row in tokens', {
    value: 'N',
    trl: 'max_length',
  }),
  // TRL always cuts rows over max_length.
  truncation: knob(
    z.enum(['truncate', 'error']).optional(),
    'Rows over --max-length: cut (counted) or stop',
    { trl: false },
  ),
  weightDecay: knob(z.number().min(0).optional(), 'Decoupled weight decay', {
    value: 'W',
    trl: 'weight_decay',
  }),
  maxGradNorm: knob(z.number().min(0).optional(), 'Global gradient-norm clipping (0 = off)', {
    value: 'C',
    trl: 'max_grad_norm',
  }),
  schedule: knob(
    z.enum(['cosine', 'linear', 'constant']).optional(),
    'Learning-rate schedule after warmup',
    { trl: (s: keyof typeof TRL_SCHEDULES) => ({ lr_scheduler_type: TRL_SCHEDULES[s] }) },
  ),
  warmup: knob(
    z
      .number()
      .min(0)
      .refine((w) => w < 1 || Number.isInteger(w), 'a fraction below 1 or a whole step count')
      .optional(),
    'Warmup: a fraction of the steps (< 1) or a step count',
    {
      value: 'F|N',
      trl: (w: Warmup) =>
        'fraction' in w ? { warmup_ratio: w.fraction } : { warmup_steps: w.steps },
    },
  ),
  // TRL's default, -1, runs the epochs; ours is unset.
  maxSteps: knob(positiveInt.optional(), 'Stop after N optimizer steps', {
    value: 'N',
    trl: (n?: number) => ({ max_steps: n ?? -1 }),
  }),
  optimizer: optimizerKnob,
  gradientCheckpointing: knob(
    z.boolean().optional(),
    "Rebuild each layer's activations in the backward pass instead of keeping them (a fraction of the memory, one more forward pass)",
    { trl: 'gradient_checkpointing' },
  ),
  // PEFT's LoraConfig, beside the trainer's.
  lora: loraKnob,
  // TRL evaluates and checkpoints on its own.
  evalEvery: knob(positiveInt.optional(), 'Evaluate every N steps (default: at the end)', {
    value: 'N',
    trl: false,
  }),
  saveEvery: knob(positiveInt.optional(), 'Checkpoint every N steps (default: only on Ctrl-C)', {
    value: 'N',
    trl: false,
  }),
  ...ROW_KNOBS,
};

/** The loop knobs' values. */
export type LoopKnobs = KnobValues<typeof LOOP_KNOBS>;

/** The loop knobs a preset gives a value (the rest default per run, not per model size). */
export const PRESET_KNOBS = [
  'lr',
  'epochs',
  'batchSize',
  'gradAccum',
  'maxLength',
  'schedule',
  'warmup',
  'weightDecay',
  'maxGradNorm',
] as const;

type PresetKnob = (typeof PRESET_KNOBS)[number];

/**
 * The optimizer-loop settings of a preset, every one set (`maxLength` is capped at the
 * model's context when resolved; warmup as the schedule reads it).
 */
export type LoopHyper = {
  [K in Exclude<PresetKnob, 'warmup'>]-?: Exclude<LoopKnobs[K], undefined>;
} & { warmup: Warmup };

/** A warmup knob's number as the schedule reads it. */
export function warmupOf(warmup: number | undefined): Warmup | undefined {
  if (warmup === undefined) return undefined;
  return warmup < 1 ? { fraction: warmup } : { steps: warmup };
}

/**
 * The stage options the loop knobs set: the one mapping from knobs to a run, whichever way
 * (CLI, job, notebook) they were given. Other fields (a stage's own knobs, data) pass through.
 */
export function loopOptions<K extends Partial<LoopKnobs>>(
  knobs: K,
): Omit<K, 'warmup'> & { warmup?: Warmup } {
  return { ...knobs, warmup: warmupOf(knobs.warmup) };
}
