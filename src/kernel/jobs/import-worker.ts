// Runs in a job's worker thread: the model layer (and ONNX Runtime) load here, never in the kernel's thread.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import { hashFile } from '../../core/hash.ts';
import { parameterCount, readModelConfig } from '../../model/config.ts';
import { mergeAdapterFolder } from '../../model/merge-lora.ts';
import { decoderParamSpecs } from '../../model/param-layout.ts';
import { WeightsFolder } from '../../model/weights-folder.ts';
import type { JobContext } from '../job.ts';
import { BUNDLE_FILE, findBundle, importSources, type importParams } from './import.ts';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'];

/** Worker side of `model.import`. */
export async function importModel(
  params: z.infer<typeof importParams>,
  ctx: JobContext,
): Promise<unknown> {
  const src = await importSources(params, ctx);
  const bundle = await findBundle(src.fromDir, src.bundlePath);
  let weights: string;
  let adapter: Record<string, unknown> | undefined;
  if (src.mode === 'checkpoint') {
    weights = await checkWeights(src.fromDir);
    for (const name of src.fromFiles) {
      ctx.signal.throwIfAborted();
      await copyFile(join(src.fromDir, name), join(ctx.dir, name));
    }
  } else {
    const baseDir = src.baseDir!;
    ctx.progress({
      stage: 'import:merge',
      step: 0,
      total: 1,
      elapsed: 0,
      message: `merging the adapter into ${basename(baseDir)}`,
    });
    const merged = await mergeAdapterFolder(baseDir, src.fromDir, ctx.dir);
    weights = 'F32 (merged in float32; bfloat16 would round the update away in part)';
    // The tokenizer the trainer saved with the adapter is the one it trained with.
    const tokenizerDir = src.fromFiles.includes('tokenizer.json') ? src.fromDir : baseDir;
    for (const name of TOKENIZER_FILES) {
      if (existsSync(join(tokenizerDir, name)))
        await copyFile(join(tokenizerDir, name), join(ctx.dir, name));
    }
    if (src.mode === 'adapter') {
      await mkdir(join(ctx.dir, 'adapter'));
      for (const name of ['adapter_config.json', 'adapter_model.safetensors'])
        await copyFile(join(src.fromDir, name), join(ctx.dir, 'adapter', name));
    }
    adapter = {
      modules: merged.modules.length,
      rank: merged.rank,
      base: basename(baseDir),
      ...(merged.baseModel ? { trainedOn: merged.baseModel } : {}),
    };
  }
  if (bundle) await copyFile(bundle.file, join(ctx.dir, BUNDLE_FILE));
  const { config } = await readModelConfig(join(ctx.dir, 'config.json'));
  return {
    source: basename(src.fromDir),
    mode: src.mode,
    weights,
    ...(adapter ? { adapter } : {}),
    modelType: config.modelType,
    parameters: parameterCount(config),
    layers: config.numLayers,
    hiddenSize: config.hiddenSize,
    vocabSize: config.vocabSize,
    bundle: bundle
      ? {
          hash: bundle.hash,
          sources: bundle.sources,
          ...(bundle.workbenchVersion ? { workbenchVersion: bundle.workbenchVersion } : {}),
          ...(await bundleIntact(bundle.file, bundle.hash)),
          ...(src.baseDir ? await baseMatches(bundle.sources.model, src.baseDir) : {}),
        }
      : null,
    provenance: bundle
      ? `export bundle ${bundle.hash}`
      : `unknown: no ${BUNDLE_FILE} in the folder and no bundle given`,
  };
}

/**
 * Whether the adapter's base is the model the bundle was exported from, by the key the export
 * recorded (`kind/key` of a store artifact, or `sha256:` of its config.json); a Hub id cannot tell.
 */
async function baseMatches(
  exported: string | undefined,
  baseDir: string,
): Promise<{ baseMatches?: boolean }> {
  if (!exported || exported.startsWith('hub:')) return {};
  const keys = [`sha256:${await hashFile(join(baseDir, 'config.json'))}`];
  const metaPath = join(baseDir, 'meta.json');
  if (existsSync(metaPath)) {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as { kind?: string; key?: string };
    keys.push(`${meta.kind}/${meta.key}`);
  }
  return { baseMatches: keys.includes(exported) };
}

/**
 * For a bundle folder (its `manifest.json`, not the copy `train.py` leaves beside the model):
 * whether its files still hash to the manifest's content hash. A copy cannot be checked.
 */
async function bundleIntact(file: string, hash: string): Promise<{ intact?: boolean }> {
  if (basename(file) !== 'manifest.json') return {};
  // Loaded only here: the export layer is large and most imports never need it.
  const { bundleContentHash } = await import('../../train/export-trl/bundle.ts');
  return { intact: (await bundleContentHash(dirname(file))) === hash };
}

/**
 * Checks, from the file headers alone, that every tensor the config implies is present with
 * its shape (a bad index or missing shard fails here, naming the file); returns the dtype(s).
 */
async function checkWeights(dir: string): Promise<string> {
  const { config } = await readModelConfig(join(dir, 'config.json'));
  const folder = await WeightsFolder.open(dir);
  const dtypes = new Set<string>();
  try {
    for (const spec of decoderParamSpecs(config)) {
      const entry = folder.entry(spec.name);
      if (!entry) throw new InputError('missing tensor', { file: dir, field: spec.name });
      if (entry.shape.join() !== spec.shape.join()) {
        throw new InputError(
          `shape ${JSON.stringify(entry.shape)} does not match the config's ${JSON.stringify(spec.shape)}`,
          { file: entry.file, field: spec.name },
        );
      }
      dtypes.add(entry.dtype);
    }
  } finally {
    await folder.close();
  }
  return `${[...dtypes].join('+')} (copied as stored)`;
}
