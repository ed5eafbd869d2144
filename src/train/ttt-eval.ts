import {
  chatTemplateOf,
  clipReply,
  evaluate,
  extractAnswer,
  modelGenerator,
  modelScorer,
  readReasoning,
  type ChatGenerator,
  type EvalItem,
  type EvalOptions,
  type EvalResult,
  type LoadedBenchmark,
  type LoglikResult,
  type LoglikScorer,
} from '../eval/index.ts';
import type { Adaptation, TestTimeTrainer } from './ttt.ts';

/** One question answered with test-time training. */
export interface TttRecord {
  /** The item id. */
  id: string;
  /** The question. */
  question: string;
  /** Its subject, when the benchmark has one. */
  subject?: string;
  /** 0-based index of the correct option. */
  answerIndex: number;
  /** The neighbours trained on, nearest first: id, score, text and the loss of each step. */
  neighbours: Adaptation['neighbours'];
  /** The answer of the base weights: option log-likelihoods or the reply, and the choice. */
  before: { prediction: number | null; correct: boolean; scores?: number[]; output?: string };
  /** The answer after adaptation. */
  after: { prediction: number | null; correct: boolean; scores?: number[]; output?: string };
  /** Milliseconds in each phase (`before` is answering with the base weights). */
  timings_ms: { retrieve: number; adapt: number; answer: number; restore: number; before: number };
  /** Whether the weights were bit-identical to the base after restoring. */
  weights_restored: boolean;
}

/** The headline figures of a TTT evaluation (`finemed ttt --json`). */
export interface TttSummary {
  /** Items answered. */
  n_items: number;
  /** Accuracy of the base weights. */
  accuracy_before: number | null;
  /** Accuracy with TTT. */
  accuracy_after: number | null;
  /** 95% bootstrap interval of `accuracy_after`. */
  ci95_after: [number | null, number | null];
  /** Items TTT turned from wrong to right, and from right to wrong. */
  flipped: { wrong_to_right: number; right_to_wrong: number };
  /** True when the weights were restored bit for bit after every item and at the end. */
  weights_restored: boolean;
  /** SHA-256 of the weights before the first item and after the last restore. */
  weights_sha256: { before: string; after: string };
  /** Wall seconds per item, everything included. */
  seconds_per_item: number;
  /** Mean milliseconds per item in each phase. */
  timings_ms: TttRecord['timings_ms'];
  /** Settings used. */
  k: number;
  /** Steps per neighbour. */
  steps: number;
  /** Learning rate. */
  lr: number;
  /** The retriever. */
  retriever: string;
  /** Scoring mode. */
  mode: string;
}

/** What a TTT scorer or generator logs per adapted prompt (one per item at batch size 1). */
export interface TttLogEntry {
  /** The prompt (log-likelihood context, or the last user turn). */
  context: string;
  /** Scores or reply with the base weights. */
  before: LoglikResult[] | string;
  /** Scores or reply after adaptation. */
  after: LoglikResult[] | string;
  /** Neighbours and retrieval/training time. */
  adaptation: Adaptation;
  /** Milliseconds answering after adaptation. */
  answerMs: number;
  /** Milliseconds answering with the base weights. */
  beforeMs: number;
  /** Milliseconds restoring (and checking) the weights. */
  restoreMs: number;
  /** Whether the restored weights were bit-identical to the base. */
  restored: boolean;
}

/** The question of the item whose question appears last in a prompt (few-shot examples come first). */
export function questionFinder(items: readonly EvalItem[]): (prompt: string) => string {
  return (prompt) => {
    let best: EvalItem | undefined;
    let at = -1;
    for (const item of items) {
      const where = prompt.lastIndexOf(item.question.trim());
      // A later match wins; at the same place, the longer question (the other is its prefix).
      if (where > at || (where === at && best && item.question.length > best.question.length)) {
        best = item;
        at = where;
      }
    }
    return best?.question ?? prompt;
  };
}

async function adapted<T>(
  ttt: TestTimeTrainer,
  context: string,
  query: string,
  answer: () => Promise<T>,
  log: TttLogEntry[],
  signal?: AbortSignal,
): Promise<T> {
  const t0 = performance.now();
  const before = await answer();
  const t1 = performance.now();
  let adaptation!: Adaptation;
  let after!: T;
  let t2 = t1;
  let t3 = t1;
  let restored = false;
  try {
    adaptation = await ttt.adapt(query, signal);
    t2 = performance.now();
    after = await answer();
    t3 = performance.now();
  } finally {
    restored = ttt.restore();
  }
  log.push({
    context,
    before: before as LoglikResult[] | string,
    after: after as LoglikResult[] | string,
    adaptation,
    beforeMs: t1 - t0,
    answerMs: t3 - t2,
    restoreMs: performance.now() - t3,
    restored,
  });
  return after;
}

/** A scorer that adapts the model to each distinct context before scoring its continuations. */
export function tttScorer(
  ttt: TestTimeTrainer,
  queryOf: (context: string) => string,
  log: TttLogEntry[],
): LoglikScorer {
  const base = modelScorer(ttt.model);
  return {
    async loglikelihood(requests, signal) {
      const results: LoglikResult[] = new Array(requests.length);
      const contexts = [...new Set(requests.map((r) => r.context))];
      for (const context of contexts) {
        const indices = requests.flatMap((r, i) => (r.context === context ? [i] : []));
        const group = indices.map((i) => requests[i]);
        const scored = await adapted(
          ttt,
          context,
          queryOf(context),
          () => base.loglikelihood(group, signal),
          log,
          signal,
        );
        indices.forEach((i, k) => (results[i] = scored[k]));
      }
      return results;
    },
  };
}

/** A generator that adapts the model to each conversation's last user turn before replying. */
export function tttGenerator(
  ttt: TestTimeTrainer,
  queryOf: (prompt: string) => string,
  log: TttLogEntry[],
): ChatGenerator {
  const base = modelGenerator(ttt.model);
  return {
    async generate(requests, signal) {
      const replies: string[] = [];
      for (const request of requests) {
        const prompt = request.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
        const answer = async () => (await base.generate([request], signal))[0];
        replies.push(await adapted(ttt, prompt, queryOf(prompt), answer, log, signal));
      }
      return replies;
    },
  };
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function answerOf(value: LoglikResult[] | string, item: EvalItem, reasoning: boolean) {
  if (typeof value === 'string') {
    const read = reasoning
      ? readReasoning(value, item.options)
      : extractAnswer(value, item.options);
    const prediction = read.index ?? null;
    const output = reasoning ? clipReply(value) : value;
    return { prediction, correct: prediction === item.answerIndex, output };
  }
  const scores = value.map((s) => s.logprob);
  const prediction = argmax(scores);
  return { prediction, correct: prediction === item.answerIndex, scores };
}

const mean = (xs: readonly number[]): number =>
  xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;

/**
 * Evaluates a benchmark with test-time training on every item (one item per model call):
 * each item's answer is scored with the base weights, then after adapting to its retrieved
 * neighbours, then the weights are restored. Returns the evaluation layer's result (the
 * adapted answers) and one {@link TttRecord} per item.
 */
export async function evaluateWithTtt(
  bench: LoadedBenchmark,
  ttt: TestTimeTrainer,
  options: EvalOptions = {},
): Promise<{ summary: TttSummary; records: TttRecord[]; result: EvalResult }> {
  const log: TttLogEntry[] = [];
  const queryOf = questionFinder(bench.items);
  const began = performance.now();
  const result = await evaluate(
    bench,
    {
      key: `ttt:${ttt.index.kind}`,
      scorer: tttScorer(ttt, queryOf, log),
      generator: tttGenerator(ttt, queryOf, log),
      chatTemplate: chatTemplateOf(ttt.model),
    },
    { ...options, batchSize: 1 },
  );
  const seconds = (performance.now() - began) / 1000;
  if (log.length !== result.records.length)
    throw new Error(`TTT logged ${log.length} adaptations for ${result.records.length} items`);
  const byId = new Map(bench.items.map((item) => [item.id, item]));
  const reasoning = options.answer === 'reasoning';
  const records: TttRecord[] = result.records.map((record, i) => {
    const item = byId.get(record.id)!;
    const entry = log[i];
    return {
      id: record.id,
      question: record.question,
      ...(record.subject === undefined ? {} : { subject: record.subject }),
      answerIndex: record.answerIndex,
      neighbours: entry.adaptation.neighbours,
      before: answerOf(entry.before, item, reasoning),
      after: answerOf(entry.after, item, reasoning),
      timings_ms: {
        retrieve: entry.adaptation.retrieveMs,
        adapt: entry.adaptation.adaptMs,
        answer: entry.answerMs,
        restore: entry.restoreMs,
        before: entry.beforeMs,
      },
      weights_restored: entry.restored,
    };
  });
  const n = records.length;
  const after = ttt.weightsHash();
  const phase = (k: keyof TttRecord['timings_ms']) => mean(records.map((r) => r.timings_ms[k]));
  const summary: TttSummary = {
    n_items: n,
    accuracy_before: n ? mean(records.map((r) => Number(r.before.correct))) : null,
    accuracy_after: result.summary.accuracy,
    ci95_after: result.summary.ci95,
    flipped: {
      wrong_to_right: records.filter((r) => !r.before.correct && r.after.correct).length,
      right_to_wrong: records.filter((r) => r.before.correct && !r.after.correct).length,
    },
    weights_restored: records.every((r) => r.weights_restored) && after === ttt.baseHash,
    weights_sha256: { before: ttt.baseHash, after },
    seconds_per_item: n ? seconds / n : 0,
    timings_ms: {
      retrieve: phase('retrieve'),
      adapt: phase('adapt'),
      answer: phase('answer'),
      restore: phase('restore'),
      before: phase('before'),
    },
    k: ttt.settings.k,
    steps: ttt.settings.steps,
    lr: ttt.settings.lr,
    retriever: ttt.index.kind,
    mode: options.mode ?? 'loglik',
  };
  return { summary, records, result };
}
