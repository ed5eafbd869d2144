import { InputError } from '../core/errors.ts';
import { optionLetter } from './loaders/common.ts';
import type { EvalMode } from './results.ts';
import type { BenchmarkFormat, EvalItem } from './types.ts';

/**
 * How a benchmark is prompted and scored: `lm-eval` reproduces lm-evaluation-harness's task
 * definitions (the default of `finemed eval` and `wb.evaluate`); `workbench` is the earlier
 * behaviour (random few-shot draws from the test pool, chat scoring, lenient extraction).
 */
export type Harness = 'lm-eval' | 'workbench';

/** Every {@link Harness}, the default first. */
export const HARNESSES: readonly Harness[] = ['lm-eval', 'workbench'];

/** What `finemed eval` and `wb.evaluate` use when no harness is named. */
export const DEFAULT_HARNESS: Harness = 'lm-eval';

/**
 * The lm-evaluation-harness version every string and rule of the `lm-eval` profile was read
 * from (tasks medqa, medmcqa, pubmedqa, mmlu/default, mmlu_pro; api/task.py, api/samplers.py,
 * api/utils.py, filters/extraction.py, models/huggingface.py), at EleutherAI/lm-evaluation-harness
 * commit 4e7e0d47f33bc71070c1d38394bafbb52b117163.
 */
export const LM_EVAL_REF = 'lm-evaluation-harness v0.4.12-48-g4e7e0d47f';

/** lm-eval's `mmlu_pro` generation settings (`_default_template_yaml`, metadata version 3.1). */
export const MMLU_PRO_GENERATION = { until: ['Question:'], maxGenToks: 2048 } as const;

/** lm-eval's `mmlu_pro` answer filter: first match, case-sensitive, else `[invalid]`. */
const MMLU_PRO_ANSWER = /answer is \(?([ABCDEFGHIJ])\)?/;

/** What lm-eval's regex filter returns when nothing matches. */
export const INVALID = '[invalid]';

/** `mmlu_pro/utils.py` labels at most ten options. */
const MMLU_PRO_LETTERS = 10;

/** lm-eval's output type per task: only `mmlu_pro` generates. */
export function lmEvalMode(format: BenchmarkFormat): EvalMode {
  return format === 'mmlupro' ? 'generate' : 'loglik';
}

/** `num_fewshot` in the task yaml: 5 for `mmlu_pro`, else none (0). */
export function lmEvalDefaultShots(format: BenchmarkFormat): number {
  return format === 'mmlupro' ? 5 : 0;
}

/** The split lm-eval takes few-shot examples from, for error messages. */
const FEWSHOT_SPLIT: Record<BenchmarkFormat, string> = {
  medqa: 'train',
  medmcqa: 'train',
  pubmedqa: 'train',
  mmlu: 'dev',
  mmlupro: 'validation',
};

function lettered(options: readonly string[], clean: (o: string) => string): string {
  return options.map((option, i) => `${optionLetter(i)}. ${clean(option)}\n`).join('');
}

/**
 * The task's `doc_to_text`: medqa `preprocess_medqa.py`, medmcqa `utils_medmcqa.py`,
 * pubmedqa `preprocess_pubmedqa.py`, mmlu's jinja (question stripped), mmlu_pro's
 * `format_cot_example(including_answer=False)` (question as is, options stripped, ten at most).
 */
export function lmEvalQuestion(format: BenchmarkFormat, item: EvalItem): string {
  switch (format) {
    case 'medqa':
      return `Question: ${item.question}\n${lettered(item.options, (o) => o)}Answer:`;
    case 'medmcqa':
      return `Question: ${item.question}\nChoices:\n${lettered(item.options, (o) => o)}Answer:`;
    case 'pubmedqa':
      return `Abstract: ${item.context ?? ''}\nQuestion: ${item.question}\nAnswer:`;
    case 'mmlu':
      return `${item.question.trim()}\n${lettered(item.options, (o) => o)}Answer:`;
    case 'mmlupro': {
      const options = lettered(item.options.slice(0, MMLU_PRO_LETTERS), (o) => o.trim());
      return `Question:\n${item.question}\nOptions:\n${options}Answer: Let's think step by step.`;
    }
  }
}

/**
 * The task's `description` (the per-subject yaml), or '' for tasks without one. MMLU names the
 * subject with spaces for underscores; MMLU-Pro names its `category`.
 */
export function lmEvalDescription(format: BenchmarkFormat, item: EvalItem): string {
  if (format === 'mmlu') {
    if (!item.subject) throw itemError(item, 'subject', "MMLU's description names the subject");
    return `The following are multiple choice questions (with answers) about ${item.subject.replace(/_/g, ' ')}.\n\n`;
  }
  if (format === 'mmlupro') {
    if (!item.category) throw itemError(item, 'category', "MMLU-Pro's description names it");
    return (
      `The following are multiple choice questions (with answers) about ${item.category}.` +
      ` Think step by step and then finish your answer with "the answer is (X)" where X is the correct letter choice.\n`
    );
  }
  return '';
}

/**
 * A worked example's target: the answer choice for log-likelihood tasks (`doc_to_choice`
 * indexed by `doc_to_target`), MMLU-Pro's `format_cot_target` (its `cot_content` without the
 * opening "A: Let's think step by step. ").
 */
export function lmEvalTarget(format: BenchmarkFormat, item: EvalItem): string {
  if (format === 'mmlupro') {
    if (!item.explanation) {
      throw itemError(item, 'cot_content', 'an MMLU-Pro few-shot example needs its worked answer');
    }
    return item.explanation.replaceAll("A: Let's think step by step. ", '');
  }
  return lmEvalChoices(format, item)[item.answerIndex];
}

/** `doc_to_choice`: the letters, or PubMedQA's yes/no/maybe as the file lists them. */
export function lmEvalChoices(format: BenchmarkFormat, item: EvalItem): string[] {
  return format === 'pubmedqa' ? [...item.options] : item.options.map((_, i) => optionLetter(i));
}

/**
 * The whole prompt as `fewshot_context` renders it without a chat template: the description,
 * each example as its question, the target delimiter ` `, its target and the few-shot
 * delimiter `\n\n`, then the item's question with nothing after it.
 */
export function lmEvalContext(
  format: BenchmarkFormat,
  item: EvalItem,
  shots: readonly EvalItem[],
): string {
  const examples = shots.map(
    (shot) => `${lmEvalQuestion(format, shot)} ${lmEvalTarget(format, shot)}\n\n`,
  );
  return lmEvalDescription(format, item) + examples.join('') + lmEvalQuestion(format, item);
}

/**
 * The few-shot examples lm-eval's `first_n` sampler gives: the first `k` of the few-shot split
 * in file order, of the item's own subject (MMLU) or category (MMLU-Pro) when the file holds
 * several. Without a split it refuses rather than drawing from the
 * evaluated items.
 */
export function lmEvalShots(
  format: BenchmarkFormat,
  item: EvalItem,
  pool: readonly EvalItem[] | undefined,
  k: number,
): EvalItem[] {
  if (k <= 0) return [];
  const split = FEWSHOT_SPLIT[format];
  if (!pool) {
    throw new InputError(
      `${k}-shot ${format} under --harness lm-eval takes its examples from the ${split} split: pass it with --shots-file (shotsFile), or use --shots 0`,
      { field: 'shots-file' },
    );
  }
  const group = (x: EvalItem): string | undefined =>
    format === 'mmlu' ? x.subject : format === 'mmlupro' ? x.category : undefined;
  // As `rm_eval_doc`: the item itself is passed over when the split is the evaluated file.
  const own = pool.filter(
    (shot) =>
      group(shot) === group(item) &&
      !(shot.id === item.id && shot.source.file === item.source.file),
  );
  if (own.length < k) {
    const of = group(item) === undefined ? '' : ` of '${group(item)}'`;
    throw new InputError(
      `${k}-shot ${format} needs ${k} examples${of} in the ${split} split, the shots file has ${own.length}`,
      { file: pool[0]?.source.file, field: 'shots-file' },
    );
  }
  return own.slice(0, k);
}

/** What lm-eval's `custom-extract` filter makes of an MMLU-Pro reply: a letter, or `[invalid]`. */
export function lmEvalExtract(reply: string): string {
  return reply.match(MMLU_PRO_ANSWER)?.[1] ?? INVALID;
}

/** The number of characters Python's `len` counts (code points, not UTF-16 units). */
export function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function itemError(item: EvalItem, field: string, why: string): InputError {
  return new InputError(`missing ${field}: ${why}`, {
    file: item.source.file,
    line: item.source.line,
    field: item.source.key === undefined ? field : `key ${item.source.key}: ${field}`,
  });
}
