// Runs in a job's worker thread: the training layer loads here.
import { existsSync } from 'node:fs';
import type { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import { writeTrlBundle } from '../../train/export-trl/bundle.ts';
import type { JobContext } from '../job.ts';
import type { exportModel, exportParams } from './export.ts';
import { sourcePath } from './files.ts';

function modelPath(model: z.infer<typeof exportModel>, ctx: JobContext): string {
  if (typeof model !== 'string') return ctx.artifactDir(model);
  const dir = ctx.resolvePath(model);
  return existsSync(dir) ? dir : model;
}

/** Worker side of `export.trl`: writes the bundle into the artifact's folder. */
export async function runExport(
  p: z.infer<typeof exportParams>,
  ctx: JobContext,
): Promise<unknown> {
  const { model, data, warmup, ...rest } = p;
  if (warmup !== undefined && warmup >= 1 && !Number.isInteger(warmup))
    throw new InputError(`expected a fraction below 1 or a whole step count, got ${warmup}`, {
      field: 'warmup',
    });
  const manifest = await writeTrlBundle(
    {
      ...rest,
      ...(p.stage === 'dpo'
        ? { reference: undefined, refModel: p.reference && modelPath(p.reference, ctx) }
        : {}),
      model: modelPath(model, ctx),
      data: sourcePath(data, ctx),
      // As `--warmup`: below 1 a fraction of the steps, else a step count.
      warmup:
        warmup === undefined ? undefined : warmup < 1 ? { fraction: warmup } : { steps: warmup },
    },
    ctx.dir,
  );
  return {
    stage: manifest.stage,
    rows: manifest.rows,
    preset: manifest.hyperparameters.preset,
    hash: manifest.hash,
  };
}
