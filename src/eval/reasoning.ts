import { optionLetter } from './loaders/common.ts';
import type { EvalRecord } from './results.ts';
import { inBatches, itemFields, type ScoreOptions } from './scoring.ts';
import type { ChatGenerator, ChatMessage, EvalItem } from './types.ts';

/**
 * How a generated reply is asked for and read: `letter` (the harness's "The answer is (X)"
 * instruction, read by `extractAnswer`), or `reasoning` (the question asked as the
 * long-reasoning training rows ask it; the diagnosis read from the `## Summarization`).
 */
export type AnswerStyle = 'letter' | 'reasoning';

/**
 * Reply budget of reasoning answers when none is given. The demo's long-reasoning training
 * answers run 213-391 tokens in its tokenizer (median 269, 90th percentile 324), and its
 * held-out prompts up to 148 of its 512 positions: 360 fits nine answers in ten whole, and
 * the rest up to their summary's first sentence, without cutting a prompt.
 */
export const DEFAULT_REASONING_TOKENS = 360;

/** Why a reasoning reply gave no option: it states no diagnosis, or one that is no option. */
export type InvalidReason = 'no-diagnosis' | 'not-an-option';

/** What a reasoning reply says. */
export interface ReasoningReading {
  /** Both `## Thought` and `## Summarization` headings, in that order. */
  formatted: boolean;
  /** The diagnosis as stated (trimmed, at most 200 characters), or null when none is stated. */
  diagnosis: string | null;
  /** 0-based option the reply chose, or undefined (`[invalid]`). */
  index: number | undefined;
  /** How the option was matched: its text (normalized) or a stated letter. */
  matchedBy?: 'text' | 'letter';
  /** Set when `index` is undefined. */
  invalid?: InvalidReason;
}

/** The user's turn of a long-reasoning training row with options (as `src/data/evalset.ts` writes it). */
export function reasoningMessages(item: EvalItem): ChatMessage[] {
  const options = item.options.map((o, i) => `${optionLetter(i)}. ${o}`).join('\n');
  return [{ role: 'user', content: `${item.question.trim()}\n${options}` }];
}

const THOUGHT = /^\s*##\s*Thought\b/im;
const SUMMARY = /^\s*##\s*Summari[sz]ation\b[^\n]*\n?([\s\S]*)$/im;
// Statements up to the end of their sentence: a period before a space or the end, or a line end.
const DIAGNOSIS = /\bdiagnosis\s*(?:is|:)\s*([^\n]*?)(?:\.(?=\s|$)|;|\n|$)/gi;
const CONCLUSION = /\bconclusion\s*:\s*([^\n]*?)(?:\s+explains\b|\.(?=\s|$)|;|\n|$)/gi;
const LETTER = /\banswer\s+is\s*:?\s*\(?([A-Z])\)?(?![A-Za-z0-9])/g;

/** Lower case, no markup or quotes, single spaces, no leading article or trailing punctuation. */
export function normalizeDiagnosis(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[*_`"“”]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^(?:an?|the)\s+/, '')
    .replace(/[\s.,;:!?]+$/, '');
}

/** The option a stated diagnosis names: equal after normalizing, or the longest option it opens with. */
function optionNamed(stated: string, options: readonly string[]): number | undefined {
  const said = normalizeDiagnosis(stated);
  let best: number | undefined;
  options.forEach((option, i) => {
    const o = normalizeDiagnosis(option);
    if (o === '') return;
    const fits = said === o || (said.startsWith(o) && /^[,(:–-]/.test(said.slice(o.length).trim()));
    if (fits && (best === undefined || o.length > normalizeDiagnosis(options[best]).length))
      best = i;
  });
  return best;
}

function readSection(
  text: string,
  options: readonly string[],
): Omit<ReasoningReading, 'formatted'> {
  const stated = [...text.matchAll(DIAGNOSIS), ...text.matchAll(CONCLUSION)]
    .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
    .map((m) => m[1].trim())
    .filter((s) => s !== '');
  const diagnosis = stated.length ? stated[0].slice(0, 200) : null;
  if (diagnosis !== null) {
    const index = optionNamed(diagnosis, options);
    if (index !== undefined) return { diagnosis, index, matchedBy: 'text' };
  }
  for (const m of text.matchAll(LETTER)) {
    const index = m[1].charCodeAt(0) - 65;
    if (index < options.length) return { diagnosis, index, matchedBy: 'letter' };
  }
  return { diagnosis, index: undefined, invalid: diagnosis ? 'not-an-option' : 'no-diagnosis' };
}

/**
 * Reads a long-reasoning reply. The summarization is read first, then (for a reply without
 * one, or whose summarization names nothing) the whole reply. In each, the first statement of
 * a diagnosis ("The most likely diagnosis is X", "Diagnosis: X", "Conclusion: X explains...")
 * must name an option: its text after normalizing (case, markup, articles, final punctuation),
 * or the text followed by a comma or bracket. Otherwise a stated letter ("The answer is B")
 * decides. A reply that states no diagnosis, or one that is no option, is `[invalid]`.
 */
export function readReasoning(reply: string, options: readonly string[]): ReasoningReading {
  const summaryAt = reply.search(SUMMARY);
  const thoughtAt = reply.search(THOUGHT);
  const formatted = thoughtAt >= 0 && summaryAt > thoughtAt;
  const summary = summaryAt >= 0 ? reply.slice(summaryAt).match(SUMMARY)?.[1] : undefined;
  let first: Omit<ReasoningReading, 'formatted'> | undefined;
  for (const text of summary === undefined ? [reply] : [summary, reply]) {
    const read = readSection(text, options);
    if (read.index !== undefined) return { formatted, ...read };
    first ??= read;
  }
  return { formatted, ...first! };
}

/** A reply cut for a record: past `max` characters, its head and its tail (where the summary is). */
export function clipReply(reply: string, max = 2000): string {
  if (reply.length <= max) return reply;
  const half = Math.floor(max / 2);
  const cut = reply.length - 2 * half;
  return `${reply.slice(0, half)}\n[… ${cut} characters cut …]\n${reply.slice(-half)}`;
}

/** Reasoning mode's options. */
export interface ReasoningOptions extends ScoreOptions {
  /** Upper bound on reply tokens. */
  maxTokens: number;
}

/**
 * Generate mode with long-reasoning answers: each item asked as the training rows ask, the
 * greedy reply read by {@link readReasoning}; an `[invalid]` reply counts as wrong.
 */
export async function scoreReasoning(
  items: readonly EvalItem[],
  generator: ChatGenerator,
  opts: ReasoningOptions,
): Promise<EvalRecord[]> {
  if ((opts.shots ?? 0) > 0)
    throw new Error('reasoning answers are asked without few-shot examples (shots must be 0)');
  return inBatches(items, opts, async (batch) => {
    const conversations = batch.map(reasoningMessages);
    const replies = await generator.generate(
      conversations.map((messages) => ({ messages, maxTokens: opts.maxTokens })),
      opts.signal,
    );
    if (replies.length !== batch.length)
      throw new Error(`generator returned ${replies.length} replies for ${batch.length} requests`);
    return batch.map((item, i) => {
      const read = readReasoning(replies[i], item.options);
      return {
        ...itemFields(item),
        prompt: conversations[i][0].content,
        messages: conversations[i],
        prediction: read.index ?? null,
        correct: read.index === item.answerIndex,
        output: clipReply(replies[i]),
        formatted: read.formatted,
        diagnosis: read.diagnosis,
        ...(read.matchedBy ? { matchedBy: read.matchedBy } : {}),
        ...(read.invalid ? { invalid: read.invalid } : {}),
      };
    });
  });
}

/** The summary figures of reasoning records: shares with both headings and `[invalid]`. */
export function reasoningSummary(records: readonly EvalRecord[]): {
  format_rate: number | null;
  invalid_rate: number | null;
} {
  const n = records.length;
  if (n === 0) return { format_rate: null, invalid_rate: null };
  return {
    format_rate: records.filter((r) => r.formatted === true).length / n,
    invalid_rate: records.filter((r) => r.prediction === null).length / n,
  };
}
