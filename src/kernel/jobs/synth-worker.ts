// Runs in a job's worker thread: the data layer loads here.
import type { z } from 'zod';
import { writeSynthesis } from '../../data/export.ts';
import { synthesize } from '../../data/synthesize.ts';
import type { JobContext } from '../job.ts';
import type { synthParams } from './synth.ts';

/** Worker side of `synth`: the summary is the synthesis report (counts, departments, contamination). */
export async function synthesizeDataset(
  params: z.infer<typeof synthParams>,
  ctx: JobContext,
): Promise<unknown> {
  const { parquet, corpus, ...options } = params;
  const result = await synthesize(
    {
      ...options,
      seed: ctx.seed,
      ...(corpus ? { corpus: { ...corpus, path: ctx.resolvePath(corpus.path) } } : {}),
    },
    { signal: ctx.signal, onProgress: ctx.progress },
  );
  await writeSynthesis(result, ctx.dir, { parquet });
  return result.report;
}
