import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactStore } from '../core/artifacts.ts';
import type { ProgressSink } from '../core/progress.ts';
import { loadBenchmark } from '../eval/index.ts';
import { loadModel, type CausalLM } from '../model/causal-lm.ts';
import { dpo } from './dpo.ts';
import type { DpoKnobs } from './knobs/dpo.ts';
import { loopOptions, type LoopKnobs } from './knobs/loop.ts';
import type { SftKnobs } from './knobs/sft.ts';
import { tttOptions, type TttKnobs } from './knobs/ttt.ts';
import type { TrainSummary } from './output.ts';
import { sft } from './sft.ts';
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

/** Settings every training job takes: its knobs, with files as resolved paths. */
export interface StageJobParams extends Partial<LoopKnobs> {
  /** The starting model folder. */
  model: string;
  /** Training rows (JSONL, TRL format). */
  data: string;
  /** Held-out rows. */
  evalData?: string;
  /** ONNX Runtime threads. */
  threads?: number;
}

/** Summary fields that vary from run to run (paths, timings): left out of job results. */
function stable(summary: Record<string, unknown>, drop: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(summary).filter(([k]) => !drop.includes(k)));
}

/**
 * A job's stage options: its knobs and data (the knobs mapped as the CLI maps them) and the
 * job's bookkeeping.
 */
export function stageOptions<P extends StageJobParams>(p: P, ctx: StageJobContext) {
  const { model: _model, threads, ...knobs } = p;
  return {
    ...loopOptions(knobs),
    session: threads ? { threads } : undefined,
    outDir: ctx.dir,
    checkpointDir: ctx.workDir ?? join(ctx.dir, '.checkpoints'),
    resume: ctx.workDir ? ('auto' as const) : undefined,
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

async function trainJob<P extends StageJobParams>(
  p: P,
  ctx: StageJobContext,
  train: (
    model: CausalLM,
    options: ReturnType<typeof stageOptions<P>>,
  ) => Promise<{ summary: TrainSummary }>,
): Promise<Record<string, unknown>> {
  const { summary } = await withModel(p.model, p.threads, (model) =>
    train(model, stageOptions(p, ctx)),
  );
  if (!ctx.workDir) await rm(join(ctx.dir, '.checkpoints'), { recursive: true, force: true });
  return stable(summary, ['out', 'checkpoint', 'seconds', 'tokens_per_s']);
}

/** The `train.sft` job's worker side: SFT from a model folder into the artifact folder. */
export function sftIntoFolder(
  p: StageJobParams & Partial<SftKnobs>,
  ctx: StageJobContext,
): Promise<Record<string, unknown>> {
  return trainJob(p, ctx, sft);
}

/** The `train.dpo` job's worker side; `reference` is a model folder (default: the starting model). */
export function dpoIntoFolder(
  p: StageJobParams & Partial<DpoKnobs> & { reference?: string },
  ctx: StageJobContext,
): Promise<Record<string, unknown>> {
  const { reference, ...stage } = p;
  return trainJob(stage, ctx, async (model, options) => {
    const run = (ref?: CausalLM) => dpo(model, { ...options, reference: ref });
    return reference ? withModel(reference, p.threads, run) : run();
  });
}

/** Settings of the `ttt` job: its knobs, with files as resolved paths. */
export interface TttJobParams extends Partial<TttKnobs> {
  /** The model folder. */
  model: string;
  /** Training examples to retrieve from (JSONL). */
  index: string;
  /** The benchmark file. */
  bench: string;
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
  const knobs = tttOptions(p);
  const { summary } = await withModel(p.model, p.threads, (model) =>
    runTtt(model, bench, {
      ...knobs,
      index: p.index,
      store: new ArtifactStore(p.store),
      session: p.threads ? { threads: p.threads } : undefined,
      outDir: ctx.dir,
      eval: { ...knobs.eval, seed: ctx.seed, onProgress: ctx.progress, signal: ctx.signal },
    }),
  );
  return stable(summary as unknown as Record<string, unknown>, ['seconds_per_item', 'timings_ms']);
}
