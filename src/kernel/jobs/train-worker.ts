// Runs in a job's worker thread: the training layer (and ONNX Runtime) load here.
import type { z } from 'zod';
import { dpoJob, sftJob, tttJob } from '../../train/jobs.ts';
import type { JobContext } from '../job.ts';
import { sourcePath } from './files.ts';
import type { dpoParams, sftParams, tttParams } from './train.ts';

/** Stage parameters with artifacts and file sources turned into the paths the training layer reads. */
function stagePaths<P extends z.infer<typeof sftParams> | z.infer<typeof dpoParams>>(
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
export function runSft(p: z.infer<typeof sftParams>, ctx: JobContext): Promise<unknown> {
  return sftJob(stagePaths(p, ctx), ctx);
}

/** Worker side of `train.dpo`. */
export function runDpo(p: z.infer<typeof dpoParams>, ctx: JobContext): Promise<unknown> {
  const { reference, ...stage } = stagePaths(p, ctx);
  return dpoJob({ ...stage, reference: reference && ctx.artifactDir(reference) }, ctx);
}

/** Worker side of `ttt`; the retrieval index is described without its key, which moves with the code version. */
export async function runTtt(p: z.infer<typeof tttParams>, ctx: JobContext): Promise<unknown> {
  const { seed: _seed, model, index, bench, ...rest } = p;
  const summary = await tttJob(
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
