import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import { endpointModelKey, normalizeEndpoint } from '../../eval/endpoint-client.ts';
import { DEFAULT_HARNESS, HARNESSES } from '../../eval/harness.ts';
import { DEFAULT_REASONING_TOKENS } from '../../eval/reasoning.ts';
import { BENCHMARK_FORMATS } from '../../eval/types.ts';
import { defineJob } from '../job.ts';
import { artifactRefSchema } from '../protocol.ts';
import { fileSource, sourcePath } from './files.ts';

const worker = new URL('./eval-worker.ts', import.meta.url).href;

/** Parameters of an evaluation, as `wb.evaluate` takes them. */
export const evalParams = z.object({
  /** A model artifact; leave it out to score a served model (`endpoint` and `servedModel`). */
  model: artifactRefSchema.optional(),
  /** An OpenAI-compatible server's base URL (vLLM, llama.cpp, `finemed serve-model`). */
  endpoint: z.string().optional(),
  /** With `endpoint`: the model name the server serves. */
  servedModel: z.string().optional(),
  /** With `endpoint`: the environment variable holding the API key (default OPENAI_API_KEY). */
  apiKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional(),
  /** With `endpoint`: requests in flight. */
  concurrency: z.number().int().min(1).max(256).default(4),
  /** With `endpoint`: stop with an error past this many prompt+completion tokens. */
  tokenBudget: z.number().int().min(1).optional(),
  bench: fileSource,
  format: z.enum(BENCHMARK_FORMATS as [string, ...string[]]).optional(),
  /** `lm-eval` (default) reproduces lm-evaluation-harness; `workbench` takes mode, chat, cot... */
  harness: z.enum(HARNESSES as [string, ...string[]]).default(DEFAULT_HARNESS),
  /** workbench: default loglik; lm-eval decides it per task. */
  mode: z.enum(['loglik', 'generate']).optional(),
  limit: z.number().int().min(1).optional(),
  /** Default 0 (lm-eval mmlupro: 5). */
  shots: z.number().int().min(0).max(64).optional(),
  /** The few-shot split (train/dev/validation file, same format as `bench`). */
  shotsFile: fileSource.optional(),
  seed: z.number().int().default(0),
  chainOfThought: z.boolean().default(false),
  /** Generate mode: `reasoning` asks as the long-reasoning training rows do (default `letter`). */
  answer: z.enum(['letter', 'reasoning']).optional(),
  maxTokens: z.number().int().min(1).optional(),
  system: z.string().optional(),
  choiceStyle: z.enum(['letter', 'text']).optional(),
  chat: z.boolean().default(false),
  answerPrefix: z.string().optional(),
  batchSize: z.number().int().min(1).max(256).default(8),
  resamples: z.number().int().min(100).default(2000),
  skipBadRows: z.boolean().default(false),
  maxRowBytes: z.number().int().min(1).optional(),
  copBase: z.union([z.literal(0), z.literal(1), z.literal('auto')]).default('auto'),
  truth: fileSource.optional(),
});

/** `wb.evaluate`: a model artifact scored on a benchmark file (accuracy with a 95% interval). */
export const evaluateJob = defineJob({
  name: 'eval',
  summary: 'evaluate a model on a benchmark file',
  weight: 'heavy',
  kind: 'eval',
  params: evalParams,
  recipe: async (p, ctx) => {
    const bench = await ctx.inputFile(sourcePath(p.bench, ctx));
    const truth = p.truth ? await ctx.inputFile(sourcePath(p.truth, ctx)) : undefined;
    const shots = p.shotsFile ? await ctx.inputFile(sourcePath(p.shotsFile, ctx)) : undefined;
    const {
      model: _model,
      bench: _bench,
      truth: _truth,
      shotsFile: _shotsFile,
      batchSize: _batch,
      concurrency: _concurrency,
      tokenBudget: _budget,
      apiKeyEnv: _keyEnv,
      harness,
      ...options
    } = p;
    // A workbench recipe is written as before profiles existed, so its stored results keep their keys.
    const config =
      harness === 'workbench' || p.answer === 'reasoning'
        ? { ...options, mode: p.mode ?? 'loglik', shots: p.shots ?? 0 }
        : { ...options, harness };
    return {
      inputs: {
        model: modelIdentity(p),
        bench: bench.sha256,
        ...(truth ? { truth: truth.sha256 } : {}),
        ...(shots ? { shots: shots.sha256 } : {}),
      },
      config,
      seed: p.seed,
      files: [bench, ...(truth ? [truth] : []), ...(shots ? [shots] : [])],
    };
  },
  // Without loading the file: about 500 bytes per item; a small model scores ~20 items/s
  // by log-likelihood and generates ~2 replies/s.
  estimate: (p, recipe) => {
    const items = p.limit ?? Math.max(1, Math.round(recipe.files[0].bytes / 500));
    const mode =
      p.mode ?? (p.harness === 'lm-eval' && p.format === 'mmlupro' ? 'generate' : 'loglik');
    // A reasoning reply is long: ~0.016 s per token of its budget (a 32-token reply's 0.5 s).
    const perItem =
      p.answer === 'reasoning'
        ? 0.016 * (p.maxTokens ?? DEFAULT_REASONING_TOKENS)
        : mode === 'generate'
          ? 0.5
          : 0.05;
    return {
      seconds: items * perItem,
      detail: `~${items} items, ${mode}${p.answer === 'reasoning' ? ' (reasoning answers)' : ''}`,
    };
  },
  module: worker,
  exportName: 'evaluateModel',
});

/** `wb.compare`: stages compared in order, with intervals and paired significance. */
export const compareJob = defineJob({
  name: 'eval.compare',
  summary: 'compare evaluations stage by stage (gain ladder)',
  weight: 'light',
  kind: 'comparison',
  params: z.object({
    stages: z.array(z.object({ label: z.string(), eval: artifactRefSchema })).min(1),
    seed: z.number().int().default(0),
    resamples: z.number().int().min(100).default(2000),
    /** Compare only these item ids (e.g. the contamination check's clean items); default all. */
    ids: z.array(z.string()).optional(),
  }),
  recipe: async (p) => ({
    inputs: Object.fromEntries(p.stages.map((s, i) => [`stage${i}`, s.eval.key])),
    // `ids` joins the key only when given, so existing comparisons keep theirs.
    config: {
      labels: p.stages.map((s) => s.label),
      resamples: p.resamples,
      ...(p.ids ? { ids: p.ids } : {}),
    },
    seed: p.seed,
    files: [],
  }),
  estimate: (p) => ({ seconds: 0.2 * p.stages.length, detail: `${p.stages.length} stages` }),
  module: worker,
  exportName: 'compareEvaluations',
});

/**
 * The evaluated model's identity: an artifact's key, or the endpoint and served model name (a
 * served model's weights are not content-addressed; the API key is never part of it).
 */
function modelIdentity(p: z.infer<typeof evalParams>): string {
  if ((p.model === undefined) === (p.endpoint === undefined))
    throw new InputError('give exactly one of model (an artifact) and endpoint (a server URL)', {
      field: 'model',
    });
  if (p.model) return p.model.key;
  if (!p.servedModel)
    throw new InputError('endpoint needs servedModel (the model name the server serves)', {
      field: 'servedModel',
    });
  return endpointModelKey(normalizeEndpoint(p.endpoint!), p.servedModel);
}
