import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../../core/version.ts';
import { defineJob, type RecipeContext } from '../job.ts';
import type { InputFile } from '../protocol.ts';

const worker = new URL('./synth-worker.ts', import.meta.url).href;

/** The built-in knowledge the offline synthesizer draws on (and the evaluation-only phrasings); its content keys every dataset. */
export const KNOWLEDGE_FILES = [
  join(projectRoot, 'assets', 'departments.json'),
  join(projectRoot, 'assets', 'knowledge'),
  join(projectRoot, 'assets', 'eval-phrasings.json'),
];

/** Parameters of `wb.synth` (the data layer's synthesis options; the API key stays out of them). */
export const synthParams = z.object({
  preset: z.enum(['tiny', 'demo']).default('demo'),
  seed: z.number().int().optional(),
  conditions: z.number().int().min(4).optional(),
  passages: z.number().int().min(1).optional(),
  evalItems: z.number().int().min(1).optional(),
  rarity: z.number().min(0).max(4).optional(),
  anchorFraction: z.number().min(0).max(1).optional(),
  department: z.string().optional(),
  subdepartment: z.string().optional(),
  corpus: z
    .object({
      path: z.string(),
      field: z.string().optional(),
      limit: z.number().int().min(1).optional(),
      only: z.boolean().optional(),
      skipBadRows: z.boolean().optional(),
      maxRowBytes: z.number().int().min(1).optional(),
    })
    .optional(),
  llm: z
    .object({
      baseUrl: z.string().url(),
      model: z.string(),
      concurrency: z.number().int().min(1).max(256).optional(),
      maxRequests: z.number().int().min(1).optional(),
      /** Dollars per million prompt (`input`) and completion (`output`) tokens: the progress line's cost. */
      prices: z.object({ input: z.number().min(0), output: z.number().min(0) }).optional(),
    })
    .optional(),
  parquet: z.boolean().default(false),
});

/** Every file under `path` (a file, or a folder read recursively), hashed. */
async function inputFiles(path: string, ctx: RecipeContext): Promise<InputFile[]> {
  const full = ctx.resolvePath(path);
  if (!(await stat(full).catch(() => undefined))?.isDirectory()) return [await ctx.inputFile(full)];
  const names = (await readdir(full, { recursive: true })).map(String).sort();
  const files = await Promise.all(
    names.map(async (name) => ({ name, info: await stat(join(full, name)) })),
  );
  return Promise.all(
    files.filter((f) => f.info.isFile()).map((f) => ctx.inputFile(join(full, f.name))),
  );
}

/** `wb.synth`: the paper's data pipeline (offline rules or an OpenAI-compatible LLM) into a dataset artifact. */
export const synthJob = defineJob({
  name: 'synth',
  summary: 'synthesize pretraining, SFT, DPO and held-out MCQ data',
  weight: 'heavy',
  kind: 'dataset',
  params: synthParams,
  recipe: async (p, ctx) => {
    const knowledge = (await Promise.all(KNOWLEDGE_FILES.map((f) => inputFiles(f, ctx)))).flat();
    const corpus = p.corpus ? await inputFiles(p.corpus.path, ctx) : [];
    const files = [...knowledge, ...corpus];
    const { corpus: corpusOptions, llm, ...options } = p;
    // Concurrency and prices change how fast and how dear, never the files: not in the key.
    const { concurrency: _c, prices: _p, ...llmKey } = llm ?? {};
    return {
      inputs: Object.fromEntries(files.map((f) => [f.path, f.sha256])),
      config: {
        ...options,
        ...(llm ? { llm: llmKey } : {}),
        corpus: corpusOptions ? { ...corpusOptions, path: null } : null,
      },
      seed: p.seed ?? 1,
      files,
    };
  },
  // Measured: the offline synthesizer writes ~1,500 passages/s on 2 cores; an LLM takes about
  // four requests per passage at a couple of seconds each, spread over its concurrency.
  estimate: (p) => {
    const passages = p.passages ?? (p.preset === 'tiny' ? 120 : 1600);
    if (!p.llm) return { seconds: 0.5 + passages / 1500, detail: `${passages} passages, offline` };
    const concurrency = 4 * (p.llm.concurrency ?? 4);
    return {
      seconds: (passages * 4 * 2) / concurrency,
      detail: `${passages} passages via ${p.llm.model}`,
    };
  },
  module: worker,
  exportName: 'synthesizeDataset',
});
