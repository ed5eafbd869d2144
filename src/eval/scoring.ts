import { throwIfCancelled } from '../core/errors.ts';
import { ProgressTracker, type ProgressSink } from '../core/progress.ts';
import { extractAnswer } from './extract.ts';
import {
  chatLoglikContext,
  chatMessages,
  chatSeparator,
  choices,
  drawShots,
  loglikContext,
  type ChatPromptOptions,
  type ChatScoring,
  type ChoiceStyle,
} from './prompts.ts';
import type { EvalRecord } from './results.ts';
import type { BenchmarkFormat, ChatGenerator, EvalItem, LoglikScorer } from './types.ts';

/** What both scoring modes share. */
export interface ScoreOptions {
  /** The benchmark format (it decides the prompt layout). */
  format: BenchmarkFormat;
  /** Few-shot examples per item (default 0). */
  shots?: number;
  /** Where few-shot examples come from (default: the evaluated items themselves). */
  shotPool?: readonly EvalItem[];
  /** Seed of the few-shot draws (default 0). */
  seed?: number;
  /** Items per model call (default 1, so that latencies are per item). */
  batchSize?: number;
  /** Receives an event after every batch. */
  onProgress?: ProgressSink;
  /** Stops the run between batches (and inside the model, if it listens). */
  signal?: AbortSignal;
}

/** Log-likelihood mode's own options. */
export interface LoglikOptions extends ScoreOptions {
  /** Score letters or option texts (default: letters, PubMedQA's words). */
  choiceStyle: ChoiceStyle;
  /** Score in the model's chat format instead of the harness's plain text. */
  chat?: ChatScoring;
}

/** Generate mode's own options. */
export interface GenerateOptions extends ScoreOptions, ChatPromptOptions {
  /** Upper bound on reply tokens. */
  maxTokens: number;
}

/** A record before its latency is known. */
export type ScoredItem = Omit<EvalRecord, 'latencyMs'>;

/** Scores items batch by batch, timing each batch and reporting progress after it. */
export async function inBatches(
  items: readonly EvalItem[],
  opts: ScoreOptions,
  scoreBatch: (batch: readonly EvalItem[]) => Promise<ScoredItem[]>,
): Promise<EvalRecord[]> {
  const batchSize = Math.max(1, opts.batchSize ?? 1);
  const tracker = new ProgressTracker(`eval:${opts.format}`, items.length, 'items/s');
  const records: EvalRecord[] = [];
  let right = 0;
  for (let start = 0; start < items.length; start += batchSize) {
    throwIfCancelled(opts.signal);
    const batch = items.slice(start, start + batchSize);
    const began = performance.now();
    const scored = await scoreBatch(batch);
    const latencyMs = (performance.now() - began) / batch.length;
    for (const record of scored) {
      records.push({ ...record, latencyMs });
      right += Number(record.correct);
    }
    opts.onProgress?.(
      tracker.event(records.length, batch.length, {
        metrics: { accuracy: right / records.length },
      }),
    );
  }
  return records;
}

/** The item's own fields every record repeats. */
export function itemFields(item: EvalItem) {
  return {
    id: item.id,
    source: item.source,
    ...(item.subject === undefined ? {} : { subject: item.subject }),
    question: item.question,
    options: item.options,
    answerIndex: item.answerIndex,
  };
}

/** One item's prompt and the option texts scored as its continuations. */
export interface ChoicePrompt {
  /** The item. */
  item: EvalItem;
  /** The log-likelihood context. */
  context: string;
  /** Each option as scored (letters or texts), in option order. */
  choices: string[];
}

/**
 * Scores every prompt's choices (`separator + choice`) in one scorer call; a record's
 * `prediction` is the option with the highest log-likelihood (lm-eval's `acc`).
 */
export async function scoreChoices(
  prompts: readonly ChoicePrompt[],
  separator: string,
  scorer: LoglikScorer,
  signal?: AbortSignal,
): Promise<ScoredItem[]> {
  const requests = prompts.flatMap(({ context, choices: cs }) =>
    cs.map((choice) => ({ context, continuation: `${separator}${choice}` })),
  );
  const results = await scorer.loglikelihood(requests, signal);
  if (results.length !== requests.length) {
    throw new Error(`scorer returned ${results.length} results for ${requests.length} requests`);
  }
  let next = 0;
  return prompts.map(({ item, context, choices: cs }) => {
    const scores = results.slice(next, (next += cs.length));
    const prediction = argmax(scores.map((s) => s.logprob));
    return {
      ...itemFields(item),
      prompt: context,
      scores,
      prediction,
      correct: prediction === item.answerIndex,
    };
  });
}

/** UTF-8 bytes of a choice: the workbench's acc_norm and lm-eval's acc_bytes divide by it. */
export const utf8Bytes = (choice: string): number => Buffer.byteLength(choice);

/** The option with the highest log-likelihood per unit of `length` (acc_norm-style), and whether it is right. */
export function normalisedPick(
  record: ScoredItem,
  choices: readonly string[],
  length: (choice: string) => number,
): { prediction: number; correct: boolean } {
  const prediction = argmax((record.scores ?? []).map((s, i) => s.logprob / length(choices[i])));
  return { prediction, correct: prediction === record.answerIndex };
}

/** Index of the largest value; the first on ties, as numpy's argmax. */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Log-likelihood mode (lm-evaluation-harness `multiple_choice`): each option's continuation
 * is scored after the prompt; `acc` takes the highest log-likelihood, `acc_norm` the highest
 * log-likelihood per UTF-8 byte of the choice text.
 */
export async function scoreLoglik(
  items: readonly EvalItem[],
  scorer: LoglikScorer,
  opts: LoglikOptions,
): Promise<EvalRecord[]> {
  const pool = opts.shotPool ?? items;
  return inBatches(items, opts, async (batch) => {
    const prompts = batch.map((item) => {
      const shots = drawShots(pool, item, opts.shots ?? 0, opts.seed ?? 0);
      return {
        item,
        context: opts.chat
          ? chatLoglikContext(opts.format, item, shots, opts.choiceStyle, opts.chat)
          : loglikContext(opts.format, item, shots, opts.choiceStyle),
        choices: choices(item, opts.choiceStyle),
      };
    });
    const separator = opts.chat ? chatSeparator(opts.chat.answerPrefix ?? '') : ' ';
    const records = await scoreChoices(prompts, separator, scorer, opts.signal);
    return records.map((record, i) => {
      const norm = normalisedPick(record, prompts[i].choices, utf8Bytes);
      return { ...record, predictionNorm: norm.prediction, correctNorm: norm.correct };
    });
  });
}

/**
 * Generate mode: the item as a chat conversation (few-shot turns, optional chain of thought),
 * the reply read by {@link extractAnswer}; an unreadable reply counts as wrong.
 */
export async function scoreGenerate(
  items: readonly EvalItem[],
  generator: ChatGenerator,
  opts: GenerateOptions,
): Promise<EvalRecord[]> {
  const pool = opts.shotPool ?? items;
  return inBatches(items, opts, async (batch) => {
    const conversations = batch.map((item) =>
      chatMessages(item, drawShots(pool, item, opts.shots ?? 0, opts.seed ?? 0), opts),
    );
    const replies = await generator.generate(
      conversations.map((messages) => ({ messages, maxTokens: opts.maxTokens })),
      opts.signal,
    );
    if (replies.length !== batch.length) {
      throw new Error(`generator returned ${replies.length} replies for ${batch.length} requests`);
    }
    return batch.map((item, i) => {
      const { index, rule } = extractAnswer(replies[i], item.options);
      const messages = conversations[i];
      return {
        ...itemFields(item),
        prompt: messages[messages.length - 1].content,
        messages,
        prediction: index ?? null,
        correct: index === item.answerIndex,
        output: replies[i],
        extractedBy: rule,
      };
    });
  });
}
