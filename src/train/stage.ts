import type { ProgressSink } from '../core/progress.ts';
import type { SessionOptions } from '../engine/index.ts';
import { UsageError } from '../core/errors.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { attachLora } from '../model/lora.ts';
import { PROJECTION_NAMES } from '../model/param-layout.ts';
import { Rng } from '../core/rng.ts';
import type { LoadedRows, ReadOptions, RowSource } from './examples.ts';
import type { TruncationPolicy } from './encode.ts';
import { presetFor, type LoopHyper, type TrainPreset } from './presets.ts';
import type { TrainerOptions } from './trainer-types.ts';

/** LoRA settings of a stage (PEFT's names). */
export interface StageLora {
  /** Rank. */
  r: number;
  /** Scale numerator (default 2r). */
  alpha?: number;
  /** Dropout on adapter inputs (default 0; above 0 a resumed run is not bit-identical). */
  dropout?: number;
  /** Module names to adapt (default every attention and MLP projection). */
  targetModules?: string[];
}

/** Every projection of the decoder (from its architecture table): LoRA's default targets here. */
export const ALL_LINEAR: string[] = [...PROJECTION_NAMES];

/** Data given as a JSONL path, in-memory records, or rows already parsed. */
export type DataInput<T> = string | readonly unknown[] | LoadedRows<T>;

/** What every training stage accepts besides its data: preset overrides and bookkeeping. */
export interface StageOptions extends Partial<LoopHyper>, ReadOptions {
  /** Where the trained model and `train_result.json` go. */
  outDir: string;
  /** Where checkpoints go (default `outDir`); a job keeps them apart from its result. */
  checkpointDir?: string;
  /** Hyper-parameter preset (default: the one the model's shape matches). */
  preset?: TrainPreset;
  /** Seed of data order, held-out split and adapters (default 0). */
  seed?: number;
  /** `adamw` (default) or `sgd`. */
  optimizer?: 'adamw' | 'sgd';
  /** Gradient checkpointing of the decoder layers (see `LossGraphOptions.checkpoint`). */
  gradientCheckpointing?: boolean;
  /** Stop after this many optimizer steps. */
  maxSteps?: number;
  /** Too-long rows: error or cut (default `truncate`). */
  truncation?: TruncationPolicy;
  /** Train LoRA adapters instead of all parameters (attached unless the model has some). */
  lora?: StageLora;
  /** Evaluate every N steps (default: only at the end). */
  evalEvery?: number;
  /** Also evaluate before training (TRL's `eval_on_start`). */
  evalOnStart?: boolean;
  /** Checkpoint every N steps (default: only when cancelled). */
  saveEvery?: number;
  /** Checkpoints kept (default 2). */
  keepCheckpoints?: number;
  /** Continue from a checkpoint (see {@link TrainerOptions.resume}). */
  resume?: TrainerOptions['resume'];
  /** ONNX Runtime settings; fix `threads` for runs that must reproduce bit for bit elsewhere. */
  session?: SessionOptions;
  /** Write the trained model into `outDir` (default true). */
  save?: boolean;
  /** Receives progress events. */
  onProgress?: ProgressSink;
  /** Receives one-line notices (see {@link TrainerOptions.onNotice}). */
  onNotice?: TrainerOptions['onNotice'];
  /** Cancels the run (a checkpoint is saved first). */
  signal?: AbortSignal;
}

/** The preset's hyper-parameters with the caller's overrides, checked. */
export function resolveHyper<H extends LoopHyper>(
  model: Pick<CausalLM, 'config'>,
  options: Partial<H> & { preset?: TrainPreset },
  presets: Record<TrainPreset, H>,
): H & { preset: TrainPreset } {
  const preset = options.preset ?? presetFor(model);
  // A preset's length is a ceiling: models with a shorter context use all of theirs.
  const base = {
    ...presets[preset],
    maxLength: Math.min(presets[preset].maxLength, model.config.maxPositions),
  };
  const overrides = Object.keys(base).flatMap((k) => {
    const v = (options as Record<string, unknown>)[k];
    return v === undefined ? [] : [[k, v]];
  });
  const hyper = { ...base, ...Object.fromEntries(overrides), preset } as H & {
    preset: TrainPreset;
  };
  if (hyper.maxLength > model.config.maxPositions)
    throw new UsageError(
      `max length ${hyper.maxLength} exceeds the model's context of ${model.config.maxPositions} tokens`,
    );
  if (!(hyper.lr > 0)) throw new UsageError(`the learning rate must be positive, got ${hyper.lr}`);
  if (!(hyper.epochs > 0)) throw new UsageError(`epochs must be positive, got ${hyper.epochs}`);
  for (const key of ['batchSize', 'gradAccum', 'maxLength'] as const)
    if (!Number.isInteger(hyper[key]) || hyper[key] < 1)
      throw new UsageError(`${key} must be a positive integer, got ${hyper[key]}`);
  return hyper;
}

/** The trainer options of a stage from its resolved hyper-parameters. */
export function trainerOptions(
  hyper: LoopHyper,
  options: StageOptions,
  fingerprint: unknown,
): TrainerOptions {
  // The context length shapes the rows, not the loop.
  const { maxLength: _rows, ...loop } = hyper;
  return {
    ...loop,
    checkpointDir: options.checkpointDir ?? options.outDir,
    seed: options.seed ?? 0,
    optimizer: options.optimizer,
    maxSteps: options.maxSteps,
    evalEvery: options.evalEvery,
    evalOnStart: options.evalOnStart,
    saveEvery: options.saveEvery,
    keepCheckpoints: options.keepCheckpoints,
    resume: options.resume,
    fingerprint,
    onProgress: options.onProgress,
    onNotice: options.onNotice,
    signal: options.signal,
  };
}

/** Attaches the stage's LoRA adapters (seeded), unless the model already carries adapters. */
export async function prepareLora(
  model: CausalLM,
  lora: StageLora | undefined,
  seed: number,
): Promise<void> {
  if (!lora || model.lora) return;
  const base = model.params;
  await attachLora(model, {
    r: lora.r,
    alpha: lora.alpha ?? 2 * lora.r,
    dropout: lora.dropout ?? 0,
    targetModules: lora.targetModules ?? ALL_LINEAR,
    seed,
  });
  // The LoRA set holds the base (or adopted it released, re-read from the folder when a session
  // needs it): a large loaded arena goes now rather than at V8's next full collection.
  base.freeArena('LoRA adapters were attached: the model has a new parameter set');
}

/** A model's tokenizer, or an error saying training needs one. */
export function tokenizerOf(model: CausalLM) {
  if (!model.tokenizer)
    throw new UsageError('the model has no tokenizer (tokenizer.json): training needs one');
  return model.tokenizer;
}

/** Splits off a seeded held-out fraction (at least one row, never all). */
export function holdOut<T>(
  rows: readonly T[],
  fraction: number,
  seed: number,
): { train: T[]; held: T[] } {
  if (!(fraction > 0)) return { train: [...rows], held: [] };
  const n = Math.min(rows.length - 1, Math.max(1, Math.round(rows.length * fraction)));
  const order = new Rng(seed).fork('eval-split').shuffle(rows.map((_, i) => i));
  const held = new Set(order.slice(0, n));
  return { train: rows.filter((_, i) => !held.has(i)), held: rows.filter((_, i) => held.has(i)) };
}

/** How a stage reads its rows: from a file, or from in-memory records. */
export interface RowReader<T> {
  /** Reads a JSONL file. */
  file(path: string, options: ReadOptions): Promise<LoadedRows<T>>;
  /** Parses records; `label` names them in errors. */
  records(records: readonly unknown[], label: string, options: ReadOptions): LoadedRows<T>;
}

async function loadRows<T>(
  input: DataInput<T>,
  reader: RowReader<T>,
  o: ReadOptions,
): Promise<LoadedRows<T>> {
  if (typeof input === 'string') return reader.file(input, o);
  if (Array.isArray(input)) return reader.records(input, '<memory>', o);
  return input as LoadedRows<T>;
}

/**
 * A stage's training and held-out rows: `evalData` when given, else a seeded `evalSplit` of
 * `data`; `skipped` counts the malformed training rows left out.
 */
export async function trainingRows<T extends { source: RowSource }>(
  o: {
    data: DataInput<T>;
    evalData?: DataInput<T>;
    evalSplit?: number;
    seed?: number;
  } & ReadOptions,
  reader: RowReader<T>,
): Promise<{ train: T[]; held: T[]; skipped: number }> {
  const loaded = await loadRows(o.data, reader, o);
  const split = o.evalData
    ? { train: loaded.rows, held: (await loadRows(o.evalData, reader, o)).rows }
    : holdOut(loaded.rows, o.evalSplit ?? 0, o.seed ?? 0);
  return { ...split, skipped: loaded.skipped.length };
}
