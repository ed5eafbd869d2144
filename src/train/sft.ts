import { join } from 'node:path';
import { hashValue } from '../core/hash.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { readSftFile, sftExamples, type SftExample } from './examples.ts';
import { encodeSft, packRows, type EncodedRow } from './encode.ts';
import { evaluateInBatches, LmLoss } from './lm-loss.ts';
import { finishStage, runSummary, type TrainSummary } from './output.ts';
import { SFT_PRESETS } from './presets.ts';
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

/** Options of supervised fine-tuning (and language-model pretraining on `text` rows). */
export interface SftOptions extends StageOptions {
  /** Training rows: TRL `{"messages": [...]}` or `{"text": ...}`. */
  data: DataInput<SftExample>;
  /** Held-out rows for the evaluation loss. */
  evalData?: DataInput<SftExample>;
  /** Without `evalData`, hold out this fraction of the training rows (seeded; default 0). */
  evalSplit?: number;
  /** Loss on every token of conversations, prompts included (default: assistant tokens only). */
  trainOnPrompt?: boolean;
  /** Concatenate rows and cut them into rows of `maxLength` tokens (no row is truncated). */
  packing?: boolean;
  /** Stage name in progress events and results (default `sft`). */
  stage?: string;
}

/** What an SFT run did. */
export interface SftResult {
  /** The JSON summary (`finemed train sft --json`). */
  summary: TrainSummary;
  /** The full run: loss curve and evaluations. */
  run: TrainRun;
}

/** A task over encoded rows: the SFT loss in micro-batches, held-out loss in batches. */
export function lmTask(
  stage: string,
  loss: LmLoss,
  rows: readonly EncodedRow[],
  heldOut: readonly EncodedRow[],
  batchSize: number,
): TrainTask {
  return {
    stage,
    size: rows.length,
    grads: loss.step.grads,
    forwardBackward: (units) => loss.forwardBackward(units.map((i) => rows[i])),
    evaluate:
      heldOut.length === 0
        ? undefined
        : (signal) =>
            evaluateInBatches(
              heldOut.length,
              batchSize,
              (indices) => loss.evaluate(indices.map((i) => heldOut[i])),
              signal,
            ),
  };
}

/**
 * Supervised fine-tuning as TRL's SFTTrainer: conversations rendered by the model's chat
 * template with loss on assistant tokens only (or every token), `text` rows trained on every
 * token (pretraining), optional packing and truncation, full parameters or LoRA. The model
 * is trained in place; the trained model, checkpoints and `train_result.json` go to `outDir`.
 */
export async function sft(model: CausalLM, options: SftOptions): Promise<SftResult> {
  const stage = options.stage ?? 'sft';
  const tokenizer = tokenizerOf(model);
  const hyper = resolveHyper(model, options, SFT_PRESETS);
  const seed = options.seed ?? 0;
  const split = await trainingRows(options, { file: readSftFile, records: sftExamples });
  // Packing is the alternative to truncation (TRL): rows are cut only where a packed row ends,
  // and the rest of a long example continues in the next packed row instead of being lost.
  const encodeOptions = {
    maxLength: options.packing ? Infinity : hyper.maxLength,
    truncation: options.truncation,
    trainOnPrompt: options.trainOnPrompt,
  };
  const train = encodeSft(tokenizer, split.train, encodeOptions);
  const held = encodeSft(tokenizer, split.held, encodeOptions);
  const rows = options.packing ? packRows(train.rows, hyper.maxLength) : train.rows;
  const heldRows = options.packing ? packRows(held.rows, hyper.maxLength) : held.rows;
  if (rows.length === 0)
    throw new Error(
      'no training row has a loss token left (every row was dropped by truncation or has no assistant turn)',
    );
  await prepareLora(model, options.lora, seed);
  const fingerprint = {
    stage,
    model: model.config,
    lora: model.lora?.config ?? null,
    rows: hashValue(rows.map((r) => [r.ids, Array.from(r.mask)])),
    held: hashValue(heldRows.map((r) => r.ids)),
    hyper,
    optimizer: options.optimizer ?? 'adamw',
    maxSteps: options.maxSteps ?? null,
  };
  const loss = await LmLoss.create(model, { session: options.session, dropoutSeed: seed });
  try {
    const task = lmTask(stage, loss, rows, heldRows, hyper.batchSize);
    const run = await runTrainer(model, task, trainerOptions(hyper, options, fingerprint));
    const summary: TrainSummary = {
      ...runSummary(stage, run, options.outDir),
      preset: hyper.preset,
      rows: rows.length,
      eval_rows: heldRows.length,
      skipped_rows: split.skipped,
      truncated_rows: train.truncated + held.truncated,
      dropped_rows: train.dropped + held.dropped,
      loss_tokens: train.lossTokens,
      lora: model.lora ? { r: model.lora.config.r, alpha: model.lora.config.alpha } : null,
    };
    return await finishStage(model, options, summary, run);
  } finally {
    await loss.dispose();
  }
}

/** One stage of an SFT curriculum: its data and any settings that differ from the shared ones. */
export interface CurriculumStage extends Partial<Omit<SftOptions, 'outDir'>> {
  /** Stage name (its output folder under the curriculum's `outDir`). */
  name: string;
  /** The stage's training rows. */
  data: DataInput<SftExample>;
}

/**
 * The paper's curriculum (all medical -> one department -> one sub-department -> long
 * reasoning) as a sequence of SFT runs, each continuing from the weights the previous one
 * left: `await sftCurriculum(model, [{name: 'common', data: a}, {name: 'dept', data: b}], {outDir})`.
 * Each stage writes its model to `outDir/<name>`.
 */
export async function sftCurriculum(
  model: CausalLM,
  stages: readonly CurriculumStage[],
  shared: Omit<SftOptions, 'data'>,
): Promise<SftResult[]> {
  const results: SftResult[] = [];
  for (const stage of stages) {
    results.push(
      await sft(model, {
        ...shared,
        ...stage,
        stage: `sft:${stage.name}`,
        outDir: join(shared.outDir, stage.name),
      }),
    );
  }
  return results;
}
