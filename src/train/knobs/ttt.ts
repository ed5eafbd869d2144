// Browser-safe and free of ONNX Runtime (see knob.ts).
import { z } from 'zod';
import type { EvalOptions } from '../../eval/index.ts';
import { BENCHMARK_FORMATS, type BenchmarkFormat } from '../../eval/types.ts';
import type { TttRunOptions } from '../ttt-run.ts';
import { knob, type KnobValues } from './knob.ts';
import { loraKnob, optimizerKnob, positiveInt, ROW_KNOBS, TRAIN_PRESETS } from './loop.ts';

/** The retrievers TTT can find neighbours with. */
export const RETRIEVERS = ['bm25', 'dense'] as const;

/** How TTT adapts to each question: retrieval and the steps taken on the neighbours. */
export const TTT_ADAPT_KNOBS = {
  preset: knob(z.enum(TRAIN_PRESETS).optional(), 'k/steps/lr preset (default by model shape)'),
  k: knob(positiveInt.optional(), 'Neighbours per question', { value: 'K' }),
  steps: knob(
    z.number().int().min(0).optional(),
    'Optimizer steps per neighbour (0: score without adapting)',
    { value: 'N' },
  ),
  lr: knob(z.number().positive().optional(), 'Learning rate', { value: 'LR' }),
  optimizer: { ...optimizerKnob, description: 'Optimizer (fresh per question)' },
  lora: loraKnob,
  retriever: knob(z.enum(RETRIEVERS).optional(), 'Retriever', { shown: 'bm25' }),
  field: knob(z.enum(['prompt', 'all']).optional(), 'Index text: the whole example or its prompt', {
    shown: 'all',
  }),
  ...ROW_KNOBS,
};

/** How TTT scores each item, before and after adapting (the evaluation layer's options). */
export const TTT_SCORE_KNOBS = {
  mode: knob(z.enum(['loglik', 'generate']).optional(), 'Scoring mode', { shown: 'loglik' }),
  answer: knob(
    z.enum(['letter', 'reasoning']).optional(),
    'generate: a letter, or reasoning as the long-reasoning training rows do',
  ),
  maxTokens: knob(positiveInt.optional(), 'generate: reply token budget', { value: 'N' }),
  choiceStyle: knob(z.enum(['letter', 'text']).optional(), 'loglik: score letters or option texts'),
  chat: knob(z.boolean().optional(), "Score options in the model's chat template"),
  answerPrefix: knob(z.string().optional(), "With --chat: the reply's text before each option", {
    value: 'TEXT',
  }),
  limit: knob(positiveInt.optional(), 'Only the first N items', { value: 'N' }),
  shots: knob(z.number().int().min(0).optional(), 'Few-shot examples per item', {
    value: 'K',
    shown: '0',
  }),
};

/** Every knob of test-time training (`wb.ttt`, `finemed ttt`). */
export const TTT_KNOBS = {
  format: knob(
    z.enum(BENCHMARK_FORMATS as [BenchmarkFormat, ...BenchmarkFormat[]]).optional(),
    'Benchmark format (detected when omitted)',
  ),
  ...TTT_ADAPT_KNOBS,
  ...TTT_SCORE_KNOBS,
  seed: knob(z.number().int().default(0), 'Seed of shot draws and bootstrap', { value: 'N' }),
  // TTT scores with the workbench profile; named so one scoring object serves wb.evaluate too.
  harness: knob(z.literal('workbench').optional(), 'Scoring profile (only workbench)', {
    flag: null,
  }),
};

/** TTT's knob values. */
export type TttKnobs = KnobValues<typeof TTT_KNOBS>;

function pick(values: object, knobs: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([name]) => name in knobs));
}

/**
 * The `runTtt` options the knobs set (besides the index and the seed, which the caller
 * supplies): the one mapping from knobs to a run, whichever way they were given.
 */
export function tttOptions(knobs: Partial<TttKnobs>): Pick<
  TttRunOptions,
  keyof typeof TTT_ADAPT_KNOBS
> & {
  eval: Pick<EvalOptions, keyof typeof TTT_SCORE_KNOBS>;
} {
  return { ...pick(knobs, TTT_ADAPT_KNOBS), eval: pick(knobs, TTT_SCORE_KNOBS) };
}
