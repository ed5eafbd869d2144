import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { defineJob, type RecipeContext } from '../job.ts';
import { artifactRefSchema, type InputFile } from '../protocol.ts';
import { fileSource, sourcePath } from './files.ts';
import { dpoParams, sftParams } from './train.ts';

const worker = new URL('./export-worker.ts', import.meta.url).href;

/** A model: a checkpoint artifact, a folder (relative to the notebook), or a Hub id. */
export const exportModel = z.union([artifactRefSchema, z.string().min(1)]);

// The train jobs' settings minus those that steer only a local run (TRL has its own).
const RUN_ONLY = {
  evalData: true,
  evalSplit: true,
  evalEvery: true,
  saveEvery: true,
  truncation: true,
} as const;

/** `wb.export` parameters: a stage's `wb.sft`/`wb.dpo` settings plus `stage`; another stage's field is an error. */
export const exportParams = z.discriminatedUnion('stage', [
  sftParams
    .omit(RUN_ONLY)
    .extend({ stage: z.literal('sft'), model: exportModel, data: fileSource })
    .strict(),
  dpoParams
    .omit({ ...RUN_ONLY, chat: true })
    .extend({ stage: z.literal('dpo'), model: exportModel, reference: exportModel.optional() })
    .strict(),
]);

/** A {@link exportModel} as a key, and the file hashed for it (a folder's config.json). */
async function modelInput(
  model: z.infer<typeof exportModel>,
  ctx: RecipeContext,
): Promise<{ key: string; file?: InputFile }> {
  if (typeof model !== 'string') return { key: model.key };
  const dir = ctx.resolvePath(model);
  if (!existsSync(dir)) return { key: `hub:${model}` };
  const file = await ctx.inputFile(join(dir, 'config.json'));
  return { key: file.sha256, file };
}

/**
 * `wb.export`: a stage as a TRL + accelerate/DeepSpeed bundle artifact (train.py, the data as
 * JSONL and Parquet, launch configs, manifest), to train on a GPU cluster and bring back with
 * `wb.import`.
 */
export const exportTrlJob = defineJob({
  name: 'export.trl',
  summary: 'a training stage as a TRL + accelerate/DeepSpeed bundle',
  weight: 'light',
  kind: 'bundle',
  params: exportParams,
  recipe: async (p, ctx) => {
    const { model, data, ...config } = p;
    const dataFile = await ctx.inputFile(sourcePath(data, ctx));
    const main = await modelInput(model, ctx);
    const ref = p.stage === 'dpo' && p.reference ? await modelInput(p.reference, ctx) : undefined;
    return {
      inputs: { model: main.key, data: dataFile.sha256, ...(ref ? { reference: ref.key } : {}) },
      config,
      seed: p.seed,
      files: [dataFile, ...[main.file, ref?.file].filter((f): f is InputFile => !!f)],
    };
  },
  // Reading, converting and writing the rows twice (JSONL and Parquet): ~20 MB/s.
  estimate: (_p, recipe) => {
    const mb = (recipe.files[0]?.bytes ?? 0) / 1e6;
    return { seconds: 0.5 + mb / 20, detail: `convert ${mb.toFixed(1)} MB of rows` };
  },
  module: worker,
  exportName: 'runExport',
});
