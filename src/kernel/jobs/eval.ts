import { z } from 'zod';
import { DEFAULT_REASONING_TOKENS } from '../../eval/reasoning.ts';
import { BENCH_FORMATS } from '../../eval/types.ts';
import { defineJob } from '../job.ts';
import { artifactRefSchema } from '../protocol.ts';
import { fileSource, sourcePath } from './files.ts';

const worker = new URL('./eval-worker.ts', import.meta.url).href;

/** Parameters of an evaluation, as `wb.evaluate` takes them. */
export const evalParams = z.object({
  model: artifactRefSchema,
  bench: fileSource,
  format: z.enum(BENCH_FORMATS as [string, ...string[]]).optional(),
  mode: z.enum(['loglik', 'generate']).default('loglik'),
  limit: z.number().int().min(1).optional(),
  shots: z.number().int().min(0).max(64).default(0),
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
    const { model: _model, bench: _bench, truth: _truth, batchSize: _batch, ...options } = p;
    return {
      inputs: {
        model: p.model.key,
        bench: bench.sha256,
        ...(truth ? { truth: truth.sha256 } : {}),
      },
      config: options,
      seed: p.seed,
      files: truth ? [bench, truth] : [bench],
    };
  },
  // Without loading the file: about 500 bytes per item; a small model scores ~20 items/s
  // by log-likelihood and generates ~2 replies/s.
  estimate: (p, recipe) => {
    const items = p.limit ?? Math.max(1, Math.round(recipe.files[0].bytes / 500));
    // A reasoning reply is long: ~0.016 s per token of its budget (a 32-token reply's 0.5 s).
    const perItem =
      p.answer === 'reasoning'
        ? 0.016 * (p.maxTokens ?? DEFAULT_REASONING_TOKENS)
        : p.mode === 'generate'
          ? 0.5
          : 0.05;
    return {
      seconds: items * perItem,
      detail: `~${items} items, ${p.mode}${p.answer === 'reasoning' ? ' (reasoning answers)' : ''}`,
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
