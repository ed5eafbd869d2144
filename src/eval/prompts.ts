import { Rng } from '../core/rng.ts';
import { optionLetter } from './loaders/common.ts';
import type { BenchmarkFormat, ChatMessage, EvalItem } from './types.ts';

/** What a log-likelihood continuation holds: the option's letter (` B`) or its text (` yes`). */
export type ChoiceStyle = 'letter' | 'text';

/** lm-evaluation-harness scores letters for lettered benchmarks and the words for PubMedQA. */
export function defaultChoiceStyle(format: BenchmarkFormat): ChoiceStyle {
  return format === 'pubmedqa' ? 'text' : 'letter';
}

function lettered(options: readonly string[]): string {
  return options.map((option, i) => `${optionLetter(i)}. ${option}\n`).join('');
}

/**
 * The prompt of one item for log-likelihood scoring, as lm-evaluation-harness writes it:
 * MedQA `Question: ..\nA. ..\nAnswer:`, MedMCQA with a `Choices:` line, MMLU and MMLU-Pro the
 * bare question and options, PubMedQA `Abstract: ..\nQuestion: ..\nAnswer:`.
 */
export function loglikPrompt(format: BenchmarkFormat, item: EvalItem): string {
  switch (format) {
    case 'medqa':
      return `Question: ${item.question}\n${lettered(item.options)}Answer:`;
    case 'medmcqa':
      return `Question: ${item.question}\nChoices:\n${lettered(item.options)}Answer:`;
    case 'pubmedqa':
      return `Abstract: ${item.context ?? ''}\nQuestion: ${item.question}\nAnswer:`;
    case 'mmlu':
    case 'mmlupro':
      return `${item.question.trim()}\n${lettered(item.options)}Answer:`;
  }
}

/** The continuations scored for an item, each with the harness's leading space. */
export function choices(item: EvalItem, style: ChoiceStyle): string[] {
  return item.options.map((option, i) => (style === 'letter' ? optionLetter(i) : option));
}

/**
 * The full log-likelihood context: the MMLU subject line when there is one, then each
 * few-shot example with its answer, then the item, separated by blank lines as the harness
 * does.
 */
export function loglikContext(
  format: BenchmarkFormat,
  item: EvalItem,
  shots: readonly EvalItem[],
  style: ChoiceStyle,
): string {
  const header =
    (format === 'mmlu' || format === 'mmlupro') && item.subject
      ? `The following are multiple choice questions (with answers) about ${item.subject.replace(/_/g, ' ')}.\n\n`
      : '';
  const examples = shots.map(
    (shot) => `${loglikPrompt(format, shot)} ${choices(shot, style)[shot.answerIndex]}\n\n`,
  );
  return header + examples.join('') + loglikPrompt(format, item);
}

/** How a log-likelihood prompt is put in a chat model's own format. */
export interface ChatScoring {
  /** Renders a conversation with the model's chat template, opening the assistant's turn. */
  render(messages: readonly ChatMessage[]): string;
  /** What the assistant's reply says before the option (e.g. `The most likely diagnosis is`). */
  answerPrefix?: string;
}

/**
 * The log-likelihood context in a chat model's format (lm-evaluation-harness's
 * `--apply_chat_template` with a `gen_prefix`): the item's prompt without its `Answer:` cue
 * as the user's turn, each few-shot example as a user turn and an assistant reply, and the
 * reply opened with `answerPrefix`; the option is scored as the rest of the reply.
 */
export function chatLoglikContext(
  format: BenchmarkFormat,
  item: EvalItem,
  shots: readonly EvalItem[],
  style: ChoiceStyle,
  chat: ChatScoring,
): string {
  const question = (x: EvalItem): string =>
    loglikPrompt(format, x)
      .replace(/\n?Answer:$/, '')
      .trimEnd();
  const prefix = chat.answerPrefix ?? '';
  const messages: ChatMessage[] = shots.flatMap((shot) => [
    { role: 'user' as const, content: question(shot) },
    {
      role: 'assistant' as const,
      content: `${prefix}${chatSeparator(prefix)}${choices(shot, style)[shot.answerIndex]}`,
    },
  ]);
  messages.push({ role: 'user', content: question(item) });
  return chat.render(messages) + prefix;
}

/** What goes between an answer prefix and the option: a space, or nothing after no prefix. */
export function chatSeparator(prefix: string): string {
  return prefix === '' ? '' : ' ';
}

/** How chat prompts ask for the answer. */
export interface ChatPromptOptions {
  /** Ask the model to reason step by step before answering. */
  chainOfThought?: boolean;
  /** A system message to put first. */
  system?: string;
}

/** The user's turn for one item: abstract (PubMedQA), question, lettered options, instruction. */
export function chatQuestion(item: EvalItem, chainOfThought = false): string {
  const abstract = item.context ? `Abstract:\n${item.context}\n\n` : '';
  const instruction = chainOfThought
    ? `Let's think step by step, then finish with "The answer is (X)" where X is the letter of the correct option.`
    : `Answer with the letter of the correct option, in the form "The answer is (X)".`;
  return `${abstract}Question: ${item.question.trim()}\nOptions:\n${lettered(item.options)}\n${instruction}`;
}

/** The assistant's turn for a worked example: its explanation when reasoning is asked for. */
export function chatAnswer(item: EvalItem, chainOfThought = false): string {
  const verdict = `The answer is (${optionLetter(item.answerIndex)}).`;
  const reasoning = chainOfThought ? item.explanation?.replace(/^A:\s*/, '').trim() : undefined;
  if (!reasoning) return verdict;
  return /answer is \(?[A-Z]\)?/i.test(reasoning) ? reasoning : `${reasoning}\n${verdict}`;
}

/** The conversation for one item: optional system message, few-shot turns, the question. */
export function chatMessages(
  item: EvalItem,
  shots: readonly EvalItem[],
  opts: ChatPromptOptions = {},
): ChatMessage[] {
  const messages: ChatMessage[] = opts.system ? [{ role: 'system', content: opts.system }] : [];
  for (const shot of shots) {
    messages.push(
      { role: 'user', content: chatQuestion(shot, opts.chainOfThought) },
      { role: 'assistant', content: chatAnswer(shot, opts.chainOfThought) },
    );
  }
  messages.push({ role: 'user', content: chatQuestion(item, opts.chainOfThought) });
  return messages;
}

/**
 * `k` few-shot examples for `item`, drawn from `pool` by a stream that depends only on the
 * seed and the item's id, so each item keeps its examples however the run is limited or
 * ordered. The item itself (same file and id, or the same question text) is never drawn.
 */
export function drawShots(
  pool: readonly EvalItem[],
  item: EvalItem,
  k: number,
  seed: number,
): EvalItem[] {
  if (k <= 0) return [];
  const allowed = (shot: EvalItem): boolean =>
    shot.question !== item.question &&
    !(shot.id === item.id && shot.source.file === item.source.file);
  const rng = new Rng(seed).fork(`shots:${item.id}`);
  if (pool.length <= 4 * (k + 1)) return rng.sample(pool.filter(allowed), k);
  // Rejection sampling keeps a draw from a large pool (a whole training split) O(k).
  const seen = new Set<number>();
  const shots: EvalItem[] = [];
  while (shots.length < k && seen.size < pool.length) {
    const i = rng.int(pool.length);
    if (seen.has(i)) continue;
    seen.add(i);
    if (allowed(pool[i])) shots.push(pool[i]);
  }
  return shots;
}
