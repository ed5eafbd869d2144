import type { CausalLM } from '../model/causal-lm.ts';
import type { RowSource } from './examples.ts';
import { evaluateInBatches, type LossGraphOptions, type MicroResult } from './lm-loss.ts';
import { finishStage, runSummary, type TrainSummary } from './output.ts';
import type { LoopHyper, TrainPreset } from './presets.ts';
import {
  prepareLora,
  resolveHyper,
  tokenizerOf,
  trainerOptions,
  trainingRows,
  type DataInput,
  type RowReader,
  type StageOptions,
} from './stage.ts';
import { runTrainer } from './trainer.ts';
import type { TrainRun, TrainTask } from './trainer-types.ts';

/** Options of a stage that trains on rows of `T` (SFT rows, DPO pairs). */
export interface RowStageOptions<T> extends StageOptions {
  /** Training rows: a JSONL file, in-memory records, or rows already read. */
  data: DataInput<T>;
  /** Held-out rows for the evaluation loss (and the stage's metrics). */
  evalData?: DataInput<T>;
  /** Without `evalData`, hold out this fraction of the training rows (seeded; default 0). */
  evalSplit?: number;
}

/** What a stage run did. */
export interface StageResult {
  /** The JSON summary (`finemed train <stage> --json`). */
  summary: TrainSummary;
  /** The full run: loss curve and evaluations. */
  run: TrainRun;
}

/**
 * What a row-reading stage (SFT, DPO) starts from: the model's tokenizer, the preset with the
 * caller's overrides (checked), and the training and held-out rows.
 */
export async function stageInputs<T extends { source: RowSource }, H extends LoopHyper>(
  model: CausalLM,
  options: RowStageOptions<T> & Partial<H>,
  presets: Record<TrainPreset, H>,
  reader: RowReader<T>,
) {
  const tokenizer = tokenizerOf(model);
  const hyper = resolveHyper(model, options, presets);
  const split = await trainingRows(options, reader);
  return { tokenizer, hyper, split };
}

/** A compiled loss graph: where its step writes gradients; {@link runStage} disposes of it. */
interface StageLoss {
  readonly step: { readonly grads: TrainTask['grads'] };
  dispose(): Promise<void>;
}

/** What one stage brings to {@link runStage}. */
export interface StagePlan<L extends StageLoss> {
  /** The stage name in progress events, the checkpoint fingerprint and the summary. */
  stage: string;
  /** The resolved hyper-parameters. */
  hyper: LoopHyper & { preset: TrainPreset };
  /**
   * What else a checkpoint must match to be resumed (hashes of the encoded data, loss
   * settings), beside the model, LoRA, hyper-parameters and optimizer every stage records.
   */
  identity: Record<string, unknown>;
  /** How many training and held-out units (rows, pairs) there are. */
  units: { train: number; held: number };
  /** Compiles the loss graph; it runs after LoRA is attached, so the graph trains the adapters. */
  createLoss(graph: LossGraphOptions): Promise<L>;
  /** Forward and backward on these training units. */
  forwardBackward(loss: L, units: readonly number[]): Promise<MicroResult>;
  /** Loss and metric sums of these held-out units. */
  evaluate(loss: L, units: number[]): Promise<MicroResult>;
  /** The stage's own summary fields, after the ones every stage reports. */
  summary(run: TrainRun): Record<string, unknown>;
}

/**
 * The part every training stage shares once its data is encoded: attach LoRA (seeded),
 * fingerprint the run so that a resume refuses other data or settings, train (held-out units
 * evaluated a batch at a time), summarise, and write the model and `train_result.json`.
 */
export async function runStage<L extends StageLoss>(
  model: CausalLM,
  options: StageOptions,
  plan: StagePlan<L>,
): Promise<StageResult> {
  const { stage, hyper, units } = plan;
  const seed = options.seed ?? 0;
  await prepareLora(model, options.lora, seed);
  const fingerprint = {
    stage,
    model: model.config,
    lora: model.lora?.config ?? null,
    ...plan.identity,
    hyper,
    optimizer: options.optimizer ?? 'adamw',
    maxSteps: options.maxSteps ?? null,
  };
  const loss = await plan.createLoss({
    session: options.session,
    dropoutSeed: seed,
    checkpoint: options.gradientCheckpointing,
  });
  try {
    const task: TrainTask = {
      stage,
      size: units.train,
      grads: loss.step.grads,
      forwardBackward: (batch) => plan.forwardBackward(loss, batch),
      evaluate:
        units.held === 0
          ? undefined
          : (signal) =>
              evaluateInBatches(
                units.held,
                hyper.batchSize,
                (batch) => plan.evaluate(loss, batch),
                signal,
              ),
    };
    const run = await runTrainer(model, task, trainerOptions(hyper, options, fingerprint));
    const summary: TrainSummary = {
      ...runSummary(stage, run, options.outDir),
      preset: hyper.preset,
      ...plan.summary(run),
    };
    return await finishStage(model, options, summary, run);
  } finally {
    await loss.dispose();
  }
}
