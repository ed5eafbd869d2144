import { UsageError } from '../core/errors.ts';
import { hashValue } from '../core/hash.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { dpoExamples, readDpoFile, type DpoExample } from './examples.ts';
import { encodeDpo } from './dpo-encode.ts';
import { DpoLoss, type DpoLossType, type EncodedPair } from './dpo-loss.ts';
import { DPO_PRESETS } from './presets.ts';
import type { RowReader } from './stage.ts';
import { runStage, stageInputs, type RowStageOptions, type StageResult } from './stage-run.ts';

/**
 * Options of direct preference optimization; rows are TRL `{"prompt", "chosen", "rejected"}`
 * (strings or message lists), and held-out pairs also give the reward metrics.
 */
export interface DpoOptions extends RowStageOptions<DpoExample> {
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
export type DpoResult = StageResult;

const DPO_ROWS: RowReader<DpoExample> = { file: readDpoFile, records: dpoExamples };

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

/** The reference log-probs of these pairs, in the order the loss takes them: chosen, then rejected. */
function refOf(
  indices: readonly number[],
  ref: { chosen: number[]; rejected: number[] },
): number[] {
  return [...indices.map((i) => ref.chosen[i]), ...indices.map((i) => ref.rejected[i])];
}

/**
 * Direct preference optimization as TRL's DPOTrainer: a frozen reference whose log-probs are
 * computed once per pair, sigmoid (default), IPO or hinge loss, TRL's metric names in progress
 * events and the summary. The model is trained in place; outputs go to `outDir`.
 */
export async function dpo(model: CausalLM, options: DpoOptions): Promise<DpoResult> {
  const { tokenizer, hyper, split } = await stageInputs(model, options, DPO_PRESETS, DPO_ROWS);
  if (!(hyper.beta > 0)) throw new UsageError(`beta must be positive, got ${hyper.beta}`);
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
  const lossOptions = {
    beta: hyper.beta,
    loss: options.loss ?? 'sigmoid',
    labelSmoothing: options.labelSmoothing,
  };
  return runStage(model, options, {
    stage: 'dpo',
    hyper,
    identity: {
      pairs: hashValue(train.pairs.map((p) => [p.prompt, p.chosen, p.rejected])),
      ref: hashValue([ref, heldRef]),
      lossOptions,
    },
    units: { train: train.pairs.length, held: held.pairs.length },
    createLoss: (graph) => DpoLoss.create(model, lossOptions, graph),
    forwardBackward: (loss, units) =>
      loss.forwardBackward(
        units.map((i) => train.pairs[i]),
        refOf(units, ref),
      ),
    evaluate: (loss, units) =>
      loss.evaluate(
        units.map((i) => held.pairs[i]),
        refOf(units, heldRef),
      ),
    summary: (run) => {
      const heldOut = run.evalLog.at(-1)?.metrics;
      return {
        beta: hyper.beta,
        loss_type: lossOptions.loss,
        pairs: train.pairs.length,
        eval_pairs: held.pairs.length,
        skipped_rows: split.skipped,
        truncated_rows: train.truncated + held.truncated,
        dropped_rows: train.dropped + held.dropped,
        ...(run.log.at(-1)?.metrics ?? {}),
        ...(heldOut
          ? Object.fromEntries(Object.entries(heldOut).map(([k, v]) => [`eval_${k}`, v]))
          : {}),
      };
    },
  });
}
