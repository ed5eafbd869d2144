// Runs in a job's worker thread: the training layer (and ONNX Runtime) load here.
import { join } from 'node:path';
import type { z } from 'zod';
import { writeFileAtomic } from '../../core/atomic.ts';
import { loadModel } from '../../model/causal-lm.ts';
import { referenceLogps } from '../../train/dpo.ts';
import { encodeDpo } from '../../train/dpo-encode.ts';
import { readDpoFile } from '../../train/examples.ts';
import { dpoIntoFolder, sftIntoFolder, tttIntoFolder } from '../../train/jobs.ts';
import { tokenizerOf } from '../../train/stage.ts';
import type { JobContext } from '../job.ts';
import { sourcePath } from './files.ts';
import type { dpoLogpsParams, dpoParams, sftParams, tttParams } from './train.ts';

/** Stage parameters with artifacts and file sources turned into the paths the training layer reads. */
export function stagePaths<P extends z.infer<typeof sftParams> | z.infer<typeof dpoParams>>(
  p: P,
  ctx: JobContext,
) {
  const { seed: _seed, model, data, evalData, ...rest } = p;
  return {
    ...rest,
    model: ctx.artifactDir(model),
    data: sourcePath(data, ctx),
    evalData: evalData === undefined ? undefined : sourcePath(evalData, ctx),
  };
}

/** Worker side of `train.sft`. */
export function sftWorker(p: z.infer<typeof sftParams>, ctx: JobContext): Promise<unknown> {
  return sftIntoFolder(stagePaths(p, ctx), ctx);
}

/** Worker side of `train.dpo`. */
export function dpoWorker(p: z.infer<typeof dpoParams>, ctx: JobContext): Promise<unknown> {
  const { reference, ...stage } = stagePaths(p, ctx);
  return dpoIntoFolder({ ...stage, reference: reference && ctx.artifactDir(reference) }, ctx);
}

/** Worker side of `ttt`; the retrieval index is described without its key, which moves with the code version. */
export async function tttWorker(p: z.infer<typeof tttParams>, ctx: JobContext): Promise<unknown> {
  const { seed: _seed, model, index, bench, ...rest } = p;
  const summary = await tttIntoFolder(
    {
      ...rest,
      model: ctx.artifactDir(model),
      index: sourcePath(index, ctx),
      bench: sourcePath(bench, ctx),
      store: ctx.storeRoot,
    },
    ctx,
  );
  const {
    key: _key,
    reused: _reused,
    ...indexFacts
  } = (summary.index ?? {}) as Record<string, unknown>;
  return { ...summary, index: indexFacts };
}

/** Worker side of `dpo.logps`: one `{id, line, chosen, rejected}` line per pair in `logps.jsonl`. */
export async function dpoLogpsWorker(
  p: z.infer<typeof dpoLogpsParams>,
  ctx: JobContext,
): Promise<unknown> {
  const { rows } = await readDpoFile(sourcePath(p.data, ctx));
  const model = await loadModel(ctx.artifactDir(p.model));
  try {
    const { pairs, truncated } = encodeDpo(tokenizerOf(model), rows.slice(0, p.limit), {
      maxLength: p.maxLength ?? model.config.maxPositions,
    });
    const logps = await referenceLogps(model, pairs, ctx.signal);
    const lines = pairs.map((pair, i) =>
      JSON.stringify({
        id: pair.source.id ?? null,
        line: pair.source.line,
        chosen: logps.chosen[i],
        rejected: logps.rejected[i],
      }),
    );
    await writeFileAtomic(join(ctx.dir, 'logps.jsonl'), lines.join('\n') + '\n');
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    return {
      pairs: pairs.length,
      truncated,
      chosen_mean: mean(logps.chosen),
      rejected_mean: mean(logps.rejected),
    };
  } finally {
    await model.dispose();
  }
}
