import { UsageError } from '../core/errors.ts';
import { hashValue } from '../core/hash.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { dpoExamples, readDpoFile, type DpoExample } from './examples.ts';
import { encodeDpo } from './dpo-encode.ts';
import { DpoLoss, type DpoLossType, type EncodedPair } from './dpo-loss.ts';
import { evaluateInBatches } from './lm-loss.ts';
import { finishStage, runSummary, type TrainSummary } from './output.ts';
import { DPO_PRESETS } from './presets.ts';
import {
  prepareLora,
  resolveHyper,
  tokenizerOf,
  trainerOptions,
  trainingRows,
  type DataInput,
  type StageOptions,
} from './stage.ts';
import { runTrainer } from './trainer.ts';
import type { TrainRun, TrainTask } from './trainer-types.ts';

/** Options of direct preference optimization. */
export interface DpoOptions extends StageOptions {
  /** Preference rows: TRL `{"prompt", "chosen", "rejected"}` (strings or message lists). */
  data: DataInput<DpoExample>;
  /** Held-out pairs for evaluation loss and metrics. */
  evalData?: DataInput<DpoExample>;
  /** Without `evalData`, hold out this fraction of the pairs (seeded; default 0). */
  evalSplit?: number;
  /** KL strength (preset default 0.1). */
  beta?: number;
  /** `sigmoid` (default), `ipo` or `hinge`. */
  loss?: DpoLossType;
  /** Label smoothing of the sigmoid loss (default 0). */
  labelSmoothing?: number;
  /** The frozen reference (default: the model as it is before this run trains it). */
  reference?: CausalLM;
  /** Render plain-string rows with the chat template (default: when the tokenizer has one). */
  chat?: boolean;
}

/** What a DPO run did. */
export interface DpoResult {
  /** The JSON summary (`finemed train dpo --json`), with TRL's metric names. */
  summary: TrainSummary;
  /** The full run. */
  run: TrainRun;
}

/**
 * Reference log-probs of every pair, `[chosen..., rejected...]` per pair list order, computed
 * once before training (TRL's `precompute_ref_log_probs`).
 */
export async function referenceLogps(
  reference: CausalLM,
  pairs: readonly EncodedPair[],
  signal?: AbortSignal,
): Promise<{ chosen: number[]; rejected: number[] }> {
  const score = async (side: 'chosen' | 'rejected') =>
    (
      await reference.sequenceLogprobs(
        pairs.map((p) => ({ prompt: p.prompt, completion: p[side] })),
        { signal },
      )
    ).map((s) => s.sum);
  return { chosen: await score('chosen'), rejected: await score('rejected') };
}

function dpoTask(
  loss: DpoLoss,
  pairs: readonly EncodedPair[],
  ref: { chosen: number[]; rejected: number[] },
  held: readonly EncodedPair[],
  heldRef: { chosen: number[]; rejected: number[] },
  batchSize: number,
): TrainTask {
  const refOf = (indices: readonly number[], r: typeof ref) => [
    ...indices.map((i) => r.chosen[i]),
    ...indices.map((i) => r.rejected[i]),
  ];
  return {
    stage: 'dpo',
    size: pairs.length,
    grads: loss.step.grads,
    forwardBackward: (units) =>
      loss.forwardBackward(
        units.map((i) => pairs[i]),
        refOf(units, ref),
      ),
    evaluate:
      held.length === 0
        ? undefined
        : (signal) =>
            evaluateInBatches(
              held.length,
              batchSize,
              (indices) =>
                loss.evaluate(
                  indices.map((i) => held[i]),
                  refOf(indices, heldRef),
                ),
              signal,
            ),
  };
}

/**
 * Direct preference optimization as TRL's DPOTrainer: a frozen reference whose log-probs are
 * computed once per pair, sigmoid (default), IPO or hinge loss, TRL's metric names in progress
 * events and the summary. The model is trained in place; outputs go to `outDir`.
 */
export async function dpo(model: CausalLM, options: DpoOptions): Promise<DpoResult> {
  const tokenizer = tokenizerOf(model);
  const hyper = resolveHyper(model, options, DPO_PRESETS);
  if (!(hyper.beta > 0)) throw new UsageError(`beta must be positive, got ${hyper.beta}`);
  const seed = options.seed ?? 0;
  const split = await trainingRows(options, { file: readDpoFile, records: dpoExamples });
  const encodeOptions = {
    maxLength: hyper.maxLength,
    truncation: options.truncation,
    chat: options.chat,
  };
  const train = encodeDpo(tokenizer, split.train, encodeOptions);
  const held = encodeDpo(tokenizer, split.held, encodeOptions);
  if (train.pairs.length === 0)
    throw new Error('no pair is left: every prompt fills the maximum length');
  const reference = options.reference ?? model;
  const ref = await referenceLogps(reference, train.pairs, options.signal);
  const heldRef = await referenceLogps(reference, held.pairs, options.signal);
  await prepareLora(model, options.lora, seed);
  const lossOptions = {
    beta: hyper.beta,
    loss: options.loss ?? 'sigmoid',
    labelSmoothing: options.labelSmoothing,
  };
  const fingerprint = {
    stage: 'dpo',
    model: model.config,
    lora: model.lora?.config ?? null,
    pairs: hashValue(train.pairs.map((p) => [p.prompt, p.chosen, p.rejected])),
    ref: hashValue([ref, heldRef]),
    hyper,
    lossOptions,
    optimizer: options.optimizer ?? 'adamw',
    maxSteps: options.maxSteps ?? null,
  };
  const loss = await DpoLoss.create(model, lossOptions, {
    session: options.session,
    dropoutSeed: seed,
  });
  try {
    const task = dpoTask(loss, train.pairs, ref, held.pairs, heldRef, hyper.batchSize);
    const run = await runTrainer(model, task, trainerOptions(hyper, options, fingerprint));
    const last = run.log.at(-1)?.metrics ?? {};
    const heldOut = run.evalLog.at(-1)?.metrics;
    const summary: TrainSummary = {
      ...runSummary('dpo', run, options.outDir),
      preset: hyper.preset,
      beta: hyper.beta,
      loss_type: lossOptions.loss,
      pairs: train.pairs.length,
      eval_pairs: held.pairs.length,
      skipped_rows: split.skipped,
      truncated_rows: train.truncated + held.truncated,
      dropped_rows: train.dropped + held.dropped,
      ...last,
      ...(heldOut
        ? Object.fromEntries(Object.entries(heldOut).map(([k, v]) => [`eval_${k}`, v]))
        : {}),
    };
    return await finishStage(model, options, summary, run);
  } finally {
    await loss.dispose();
  }
}
