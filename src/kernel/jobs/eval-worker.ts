// Runs in a job's worker thread: the evaluation and model layers load here.
import { join } from 'node:path';
import { compareStages } from '../../eval/compare.ts';
import { loadBenchmark } from '../../eval/loaders/load.ts';
import { endpointModel, remoteNote } from '../../eval/endpoint.ts';
import { loadEvalModel } from '../../eval/model-adapter.ts';
import { readEvalResult, writeEvalResult } from '../../eval/results.ts';
import { evaluate } from '../../eval/run.ts';
import type { Harness } from '../../eval/harness.ts';
import type { BenchmarkFormat } from '../../eval/types.ts';
import type { JobContext } from '../job.ts';
import type { ArtifactRef } from '../protocol.ts';
import type { z } from 'zod';
import type { evalParams } from './eval.ts';
import { sourcePath } from './files.ts';
import { tttJob } from './train.ts';

/** Worker side of `eval`: the summary the cell sees holds only what a re-run reproduces. */
export async function evaluateModel(
  params: z.infer<typeof evalParams>,
  ctx: JobContext,
): Promise<unknown> {
  const load = {
    skipBadRows: params.skipBadRows,
    maxRowBytes: params.maxRowBytes,
    copBase: params.copBase,
    truthFile: params.truth ? sourcePath(params.truth, ctx) : undefined,
  };
  const bench = await loadBenchmark(
    sourcePath(params.bench, ctx),
    params.format as BenchmarkFormat | undefined,
    load,
  );
  const shots = params.shotsFile
    ? await loadBenchmark(sourcePath(params.shotsFile, ctx), bench.format, {
        ...load,
        truthFile: undefined,
      })
    : undefined;
  // Reasoning answers are the workbench's own task: lm-eval has none to reproduce.
  const harness = (params.answer === 'reasoning' ? 'workbench' : params.harness) as Harness;
  const model = params.endpoint
    ? servedModel(params)
    : await loadEvalModel(ctx.artifactDir(params.model!), {}, harness);
  try {
    const result = await evaluate(bench, model, {
      harness,
      shotPool: shots?.items,
      mode: params.mode ?? (harness === 'workbench' ? 'loglik' : undefined),
      limit: params.limit,
      shots: params.shots ?? (harness === 'workbench' ? 0 : undefined),
      seed: params.seed,
      chainOfThought: params.chainOfThought,
      answer: params.answer,
      maxTokens: params.maxTokens,
      system: params.system,
      choiceStyle: params.choiceStyle,
      chat: params.chat,
      answerPrefix: params.answerPrefix,
      batchSize: params.batchSize,
      resamples: params.resamples,
      onProgress: ctx.progress,
      signal: ctx.signal,
    });
    await writeEvalResult(ctx.dir, result);
    // The bench as the notebook named it, and no model key: both the loaded path and the key
    // move with the artifact store and the code version, which the manifest records instead.
    const named = typeof params.bench === 'string' ? params.bench : params.bench.file;
    const { items_per_s: _speed, model: _key, ...summary } = result.summary;
    return { ...summary, bench: named, ...('remote' in model ? { remote: model.remote } : {}) };
  } finally {
    await model.dispose();
  }
}

/** Where an artifact keeps its evaluation: a TTT run keeps its adapted answers' in `eval/`. */
function evaluationDir(ref: ArtifactRef, ctx: JobContext): string {
  const dir = ctx.artifactDir(ref);
  return ref.kind === tttJob.kind ? join(dir, 'eval') : dir;
}

/** Worker side of `eval.compare`: evaluations or TTT runs, in ladder order. */
export async function compareEvaluations(
  params: { stages: { label: string; eval: ArtifactRef }[]; resamples: number; ids?: string[] },
  ctx: JobContext,
): Promise<unknown> {
  const stages = await Promise.all(
    params.stages.map(async (s) => ({
      label: s.label,
      records: (await readEvalResult(evaluationDir(s.eval, ctx))).records,
    })),
  );
  const rows = compareStages(stages, {
    seed: ctx.seed,
    resamples: params.resamples,
    ids: params.ids,
  });
  return { rows };
}

/** A served model from the job's params; the API key comes from the environment, never params. */
function servedModel(params: z.infer<typeof evalParams>) {
  const model = endpointModel({
    url: params.endpoint!,
    servedModel: params.servedModel!,
    apiKey: process.env[params.apiKeyEnv ?? 'OPENAI_API_KEY'],
    concurrency: params.concurrency,
    tokenBudget: params.tokenBudget,
  });
  return { ...model, remote: remoteNote(model), dispose: async () => undefined };
}
