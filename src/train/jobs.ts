import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactStore } from '../core/artifacts.ts';
import type { ProgressSink } from '../core/progress.ts';
import type { ScheduleKind } from '../engine/index.ts';
import { loadBenchmark } from '../eval/index.ts';
import type { BenchmarkFormat } from '../eval/types.ts';
import { loadModel, type CausalLM } from '../model/causal-lm.ts';
import { dpo } from './dpo.ts';
import type { DpoLossType } from './dpo-loss.ts';
import type { TruncationPolicy } from './encode.ts';
import type { TrainSummary } from './output.ts';
import type { TrainPreset } from './presets.ts';
import type { IndexField, RetrieverKind } from './retrieve/index.ts';
import { sft } from './sft.ts';
import type { StageLora, StageOptions } from './stage.ts';
import { runTtt } from './ttt-run.ts';

/**
 * What a stage needs from the kernel's job context (a structural subset of its `JobContext`,
 * so this layer does not import the kernel).
 */
export interface StageJobContext {
  /** The artifact folder: the trained model (or TTT records) go here. */
  dir: string;
  /** The recipe's seed. */
  seed: number;
  /** Cancels the job; training checkpoints first. */
  signal: AbortSignal;
  /** Receives progress events. */
  progress: ProgressSink;
  /**
   * A folder that outlives a cancelled run of the same artifact, for checkpoints: a re-run
   * resumes from it. Without one, checkpoints live in the artifact folder and are dropped.
   */
  workDir?: string;
}

/** Settings every training job takes (JSON, with files as resolved paths). */
export interface StageJobParams {
  /** The starting model folder. */
  model: string;
  /** Training rows (JSONL, TRL format). */
  data: string;
  /** Held-out rows. */
  evalData?: string;
  /** Held-out fraction of `data` instead. */
  evalSplit?: number;
  /** Hyper-parameter preset. */
  preset?: TrainPreset;
  /** Peak learning rate. */
  lr?: number;
  /** Passes over the data. */
  epochs?: number;
  /** Stop after this many steps. */
  maxSteps?: number;
  /** Rows per micro-batch. */
  batchSize?: number;
  /** Micro-batches per step. */
  gradAccum?: number;
  /** Longest row in tokens. */
  maxLength?: number;
  /** Too-long rows: cut or stop. */
  truncation?: TruncationPolicy;
  /** Schedule after warmup. */
  schedule?: ScheduleKind;
  /** Warmup: a fraction (< 1) or a step count. */
  warmup?: number;
  /** Weight decay. */
  weightDecay?: number;
  /** Clipping threshold. */
  maxGradNorm?: number;
  /** Optimizer. */
  optimizer?: 'adamw' | 'sgd';
  /** LoRA instead of full parameters. */
  lora?: StageLora;
  /** Evaluate every N steps. */
  evalEvery?: number;
  /** Checkpoint every N steps. */
  saveEvery?: number;
  /** Skip malformed rows. */
  skipBadRows?: boolean;
  /** Longest row in bytes (default 8 MiB). */
  maxRowBytes?: number;
  /** ONNX Runtime threads. */
  threads?: number;
}

/** Summary fields that vary from run to run (paths, timings): left out of job results. */
function stable(summary: Record<string, unknown>, drop: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(summary).filter(([k]) => !drop.includes(k)));
}

function stageOptions(p: StageJobParams, ctx: StageJobContext): StageOptions {
  const { model: _m, data: _d, evalData: _e, evalSplit: _s, warmup, threads, ...hyper } = p;
  return {
    ...hyper,
    warmup:
      warmup === undefined ? undefined : warmup < 1 ? { fraction: warmup } : { steps: warmup },
    session: threads ? { threads } : undefined,
    outDir: ctx.dir,
    checkpointDir: ctx.workDir ?? join(ctx.dir, '.checkpoints'),
    resume: ctx.workDir ? 'auto' : undefined,
    seed: ctx.seed,
    onProgress: ctx.progress,
    signal: ctx.signal,
  };
}

async function withModel<T>(
  dir: string,
  threads: number | undefined,
  use: (m: CausalLM) => Promise<T>,
): Promise<T> {
  const model = await loadModel(dir, { session: threads ? { threads } : {} });
  try {
    return await use(model);
  } finally {
    await model.dispose();
  }
}

async function trainJob(
  p: StageJobParams,
  ctx: StageJobContext,
  train: (model: CausalLM, options: StageOptions) => Promise<{ summary: TrainSummary }>,
): Promise<Record<string, unknown>> {
  const { summary } = await withModel(p.model, p.threads, (model) =>
    train(model, stageOptions(p, ctx)),
  );
  if (!ctx.workDir) await rm(join(ctx.dir, '.checkpoints'), { recursive: true, force: true });
  return stable(summary, ['out', 'checkpoint', 'seconds', 'tokens_per_s']);
}

/** The `train.sft` job's worker side: SFT from a model folder into the artifact folder. */
export function sftIntoFolder(
  p: StageJobParams & { packing?: boolean; trainOnPrompt?: boolean },
  ctx: StageJobContext,
): Promise<Record<string, unknown>> {
  const { packing, trainOnPrompt, ...stage } = p;
  return trainJob(stage, ctx, (model, options) =>
    sft(model, {
      ...options,
      data: p.data,
      evalData: p.evalData,
      evalSplit: p.evalSplit,
      packing,
      trainOnPrompt,
    }),
  );
}

/** The `train.dpo` job's worker side; `reference` is a model folder (default: the starting model). */
export function dpoIntoFolder(
  p: StageJobParams & {
    beta?: number;
    loss?: DpoLossType;
    labelSmoothing?: number;
    reference?: string;
    chat?: boolean;
  },
  ctx: StageJobContext,
): Promise<Record<string, unknown>> {
  const { reference, beta, loss, labelSmoothing, chat, ...stage } = p;
  return trainJob(stage, ctx, async (model, options) => {
    const run = (ref?: CausalLM) =>
      dpo(model, {
        ...options,
        ...{ data: p.data, evalData: p.evalData, evalSplit: p.evalSplit },
        ...{ beta, loss, labelSmoothing, chat, reference: ref },
      });
    return reference ? withModel(reference, p.threads, run) : run();
  });
}

/** Settings of the `ttt` job (files as resolved paths). */
export interface TttJobParams {
  /** The model folder. */
  model: string;
  /** Training examples to retrieve from (JSONL). */
  index: string;
  /** The benchmark file. */
  bench: string;
  /** Its format (detected when absent). */
  format?: BenchmarkFormat;
  /** Preset of k/steps/lr. */
  preset?: TrainPreset;
  /** Neighbours per question. */
  k?: number;
  /** Steps per neighbour. */
  steps?: number;
  /** Learning rate. */
  lr?: number;
  /** Optimizer. */
  optimizer?: 'adamw' | 'sgd';
  /** LoRA instead of full parameters. */
  lora?: StageLora;
  /** Retriever. */
  retriever?: RetrieverKind;
  /** Indexed text. */
  field?: IndexField;
  /** Scoring mode. */
  mode?: 'loglik' | 'generate';
  /** Generate mode: `reasoning` asks as the long-reasoning training rows do. */
  answer?: 'letter' | 'reasoning';
  /** Generate mode: reply token budget. */
  maxTokens?: number;
  /** Letters or option texts. */
  choiceStyle?: 'letter' | 'text';
  /** Score options in the model's chat template. */
  chat?: boolean;
  /** With `chat`: what the assistant's reply says before each option. */
  answerPrefix?: string;
  /** Only the first N items. */
  limit?: number;
  /** Few-shot examples. */
  shots?: number;
  /** Skip malformed rows. */
  skipBadRows?: boolean;
  /** Longest row in bytes (default 8 MiB). */
  maxRowBytes?: number;
  /** ONNX Runtime threads. */
  threads?: number;
  /** Root of the artifact store that keeps the index (default FINEMED_HOME's). */
  store?: string;
}

/** The `ttt` job's worker side: records and summary go to the artifact folder. */
export async function tttIntoFolder(
  p: TttJobParams,
  ctx: StageJobContext,
): Promise<Record<string, unknown>> {
  const rows = { skipBadRows: p.skipBadRows, maxRowBytes: p.maxRowBytes };
  const bench = await loadBenchmark(p.bench, p.format, rows);
  const { summary } = await withModel(p.model, p.threads, (model) =>
    runTtt(model, bench, {
      ...{
        preset: p.preset,
        k: p.k,
        steps: p.steps,
        lr: p.lr,
        optimizer: p.optimizer,
        lora: p.lora,
      },
      ...{ index: p.index, retriever: p.retriever, field: p.field, ...rows },
      store: new ArtifactStore(p.store),
      session: p.threads ? { threads: p.threads } : undefined,
      outDir: ctx.dir,
      eval: {
        mode: p.mode,
        answer: p.answer,
        maxTokens: p.maxTokens,
        choiceStyle: p.choiceStyle,
        chat: p.chat,
        answerPrefix: p.answerPrefix,
        limit: p.limit,
        shots: p.shots,
        seed: ctx.seed,
        onProgress: ctx.progress,
        signal: ctx.signal,
      },
    }),
  );
  return stable(summary as unknown as Record<string, unknown>, ['seconds_per_item', 'timings_ms']);
}
