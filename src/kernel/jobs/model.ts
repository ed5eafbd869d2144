import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import { defineJob } from '../job.ts';
import { fileSource, sourcePath } from './files.ts';
import { artifactRefSchema } from '../protocol.ts';

const worker = new URL('./model-worker.ts', import.meta.url).href;

/**
 * The model layer's `MODEL_PRESETS`, repeated here because importing the model layer would load
 * ONNX Runtime into the kernel's thread, which only plans jobs (a test keeps the two equal).
 */
export const MODEL_PRESET_NAMES = ['tiny', 'demo'] as const;

/** The files of a Hugging Face model folder that decide its outputs. */
export const MODEL_FILES =
  /^(config\.json|generation_config\.json|.*\.safetensors|model\.safetensors\.index\.json|tokenizer\.json|tokenizer_config\.json|chat_template\.jinja)$/;

/** `wb.initModel`: a randomly initialised preset model with a BPE tokenizer trained on a corpus. */
export const initModelJob = defineJob({
  name: 'model.init',
  summary: 'initialise a tiny or demo model and train its tokenizer on a corpus',
  weight: 'heavy',
  kind: 'checkpoint',
  params: z.object({
    preset: z.enum(MODEL_PRESET_NAMES),
    corpus: fileSource,
    corpusField: z.string().default('text'),
    seed: z.number().int().default(0),
  }),
  recipe: async (p, ctx) => {
    const corpus = await ctx.inputFile(sourcePath(p.corpus, ctx));
    return {
      inputs: { corpus: corpus.sha256 },
      config: { preset: p.preset, corpusField: p.corpusField },
      seed: p.seed,
      files: [corpus],
    };
  },
  // Measured on 2 cores: byte-level BPE training dominates, about 1 s per MB of text.
  estimate: (p, recipe) => {
    const mb = recipe.files[0].bytes / 1e6;
    return {
      seconds: 1 + mb,
      detail: `${p.preset} model, tokenizer trained on ${mb.toFixed(1)} MB`,
    };
  },
  module: worker,
  exportName: 'initModel',
});

/** `wb.loadModel`: copies a Hugging Face model folder into the store, keyed by its files' content. */
export const loadModelJob = defineJob({
  name: 'model.load',
  summary: 'take a Hugging Face model folder into the artifact store',
  weight: 'light',
  kind: 'checkpoint',
  params: z.object({ path: z.string().min(1) }),
  recipe: async (p, ctx) => {
    const dir = ctx.resolvePath(p.path);
    const names = await readdir(dir).catch(() => {
      throw new InputError('not a folder', { file: dir });
    });
    const wanted = names.filter((n) => MODEL_FILES.test(n)).sort();
    if (!wanted.includes('config.json'))
      throw new InputError('not a model folder: no config.json', { file: dir });
    const files = await Promise.all(wanted.map((n) => ctx.inputFile(join(dir, n))));
    return {
      inputs: Object.fromEntries(wanted.map((n, i) => [n, files[i].sha256])),
      config: {},
      seed: 0,
      files,
    };
  },
  // Copying runs at disk speed, roughly 200 MB/s.
  estimate: (_p, recipe) => {
    const mb = recipe.files.reduce((sum, f) => sum + f.bytes, 0) / 1e6;
    return { seconds: 0.2 + mb / 200, detail: `copy ${mb.toFixed(0)} MB` };
  },
  module: worker,
  exportName: 'loadModel',
});

/** `wb.generate`: one chat reply from a model artifact (greedy). */
export const generateJob = defineJob({
  name: 'generate',
  summary: 'generate a chat reply from a model',
  weight: 'light',
  kind: 'generation',
  params: z.object({
    model: artifactRefSchema,
    prompt: z.string(),
    system: z.string().optional(),
    maxTokens: z.number().int().min(1).max(4096).default(64),
  }),
  recipe: async (p) => ({
    inputs: { model: p.model.key },
    config: { prompt: p.prompt, system: p.system ?? null, maxTokens: p.maxTokens },
    seed: 0,
    files: [],
  }),
  estimate: (p) => ({ seconds: 0.5 + p.maxTokens * 0.01, detail: `up to ${p.maxTokens} tokens` }),
  module: worker,
  exportName: 'generate',
});
