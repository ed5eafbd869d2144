import { join } from 'node:path';
import { writeJsonAtomic } from '../core/atomic.ts';
import { CausalLM } from '../model/causal-lm.ts';
import { mergedParams, saveLora } from '../model/lora.ts';
import type { TrainRun } from './trainer-types.ts';

/** The headline figures of a training run (what `--json` prints), plus stage extras. */
export interface TrainSummary {
  /** The stage. */
  stage: string;
  /** Optimizer steps taken. */
  steps: number;
  /** Loss of the first step. */
  train_loss_first: number | null;
  /** Loss of the last step. */
  train_loss_last: number | null;
  /** Held-out loss after the last step (null without held-out data). */
  eval_loss: number | null;
  /** The last checkpoint folder (null when none was written). */
  checkpoint: string | null;
  /** The folder holding the trained model. */
  out: string;
  /** Wall seconds of this session. */
  seconds: number;
  /** Input tokens per second in this session. */
  tokens_per_s: number;
  /** Stage extras (row counts, DPO metrics...). */
  [extra: string]: unknown;
}

/** The summary fields every stage shares, from a trainer run. */
export function runSummary(stage: string, run: TrainRun, out: string): TrainSummary {
  return {
    stage,
    steps: run.steps,
    train_loss_first: run.log[0]?.loss ?? null,
    train_loss_last: run.log.at(-1)?.loss ?? null,
    eval_loss: run.evalLog.at(-1)?.loss ?? null,
    checkpoint: run.checkpoint,
    out,
    seconds: run.seconds,
    tokens_per_s: run.tokensPerSecond,
  };
}

/**
 * Writes the trained model into `dir` as a Hugging Face folder that loads anywhere: with LoRA,
 * the adapters are merged into a copy of the weights (the model in memory keeps them attached)
 * and also saved on their own, in PEFT layout, under `dir/adapter`.
 */
export async function saveTrainedModel(model: CausalLM, dir: string): Promise<void> {
  if (!model.lora) {
    await model.save(dir);
    return;
  }
  await saveLora(model, join(dir, 'adapter'));
  const merged = new CausalLM(model.config, mergedParams(model), model.tokenizer, model.rawConfig);
  await merged.save(dir);
  await merged.dispose();
}

/** Writes `train_result.json`: the summary, the loss curve and the evaluations. */
export async function writeTrainResult(
  dir: string,
  summary: TrainSummary,
  run: TrainRun,
): Promise<void> {
  await writeJsonAtomic(join(dir, 'train_result.json'), {
    summary,
    log: run.log,
    eval: run.evalLog,
  });
}

/** Ends a stage: writes the trained model and `train_result.json` (unless `save` is false). */
export async function finishStage(
  model: CausalLM,
  options: { outDir: string; save?: boolean },
  summary: TrainSummary,
  run: TrainRun,
): Promise<{ summary: TrainSummary; run: TrainRun }> {
  if (options.save ?? true) {
    await saveTrainedModel(model, options.outDir);
    await writeTrainResult(options.outDir, summary, run);
  }
  return { summary, run };
}
