import { join } from 'node:path';
import { hashValue } from '../core/hash.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { readSftFile, sftExamples, type SftExample } from './examples.ts';
import { encodeSft, packRows } from './encode.ts';
import { LmLoss } from './lm-loss.ts';
import { SFT_PRESETS } from './presets.ts';
import type { DataInput, RowReader } from './stage.ts';
import { runStage, stageInputs, type RowStageOptions, type StageResult } from './stage-run.ts';

/**
 * Options of supervised fine-tuning (and language-model pretraining on `text` rows); rows are
 * TRL `{"messages": [...]}` or `{"text": ...}`.
 */
export interface SftOptions extends RowStageOptions<SftExample> {
  /** Loss on every token of conversations, prompts included (default: assistant tokens only). */
  trainOnPrompt?: boolean;
  /** Concatenate rows and cut them into rows of `maxLength` tokens (no row is truncated). */
  packing?: boolean;
  /** Stage name in progress events and results (default `sft`). */
  stage?: string;
}

/** What an SFT run did. */
export type SftResult = StageResult;

const SFT_ROWS: RowReader<SftExample> = { file: readSftFile, records: sftExamples };

/**
 * Supervised fine-tuning as TRL's SFTTrainer: conversations rendered by the model's chat
 * template with loss on assistant tokens only (or every token), `text` rows trained on every
 * token (pretraining), optional packing and truncation, full parameters or LoRA. The model
 * is trained in place; the trained model, checkpoints and `train_result.json` go to `outDir`.
 */
export async function sft(model: CausalLM, options: SftOptions): Promise<SftResult> {
  const stage = options.stage ?? 'sft';
  const { tokenizer, hyper, split } = await stageInputs(model, options, SFT_PRESETS, SFT_ROWS);
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
  return runStage(model, options, {
    stage,
    hyper,
    identity: {
      rows: hashValue(rows.map((r) => [r.ids, Array.from(r.mask)])),
      held: hashValue(heldRows.map((r) => r.ids)),
    },
    units: { train: rows.length, held: heldRows.length },
    createLoss: (graph) => LmLoss.create(model, graph),
    forwardBackward: (loss, units) => loss.forwardBackward(units.map((i) => rows[i])),
    evaluate: (loss, units) => loss.evaluate(units.map((i) => heldRows[i])),
    summary: () => ({
      rows: rows.length,
      eval_rows: heldRows.length,
      skipped_rows: split.skipped,
      truncated_rows: train.truncated + held.truncated,
      dropped_rows: train.dropped + held.dropped,
      loss_tokens: train.lossTokens,
      lora: model.lora ? { r: model.lora.config.r, alpha: model.lora.config.alpha } : null,
    }),
  });
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
