import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ArtifactStore } from '../core/artifacts.ts';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.ts';
import { InputError } from '../core/errors.ts';
import { readLines, readTextFile } from '../core/lines.ts';
import type { ExtractionRule } from './extract.ts';
import type { Conformance } from './harness-conformance.ts';
import type { Harness } from './harness.ts';
import type { InvalidReason } from './reasoning.ts';
import type {
  BenchmarkFormat,
  ChatMessage,
  ItemSource,
  LoglikResult,
  SkippedRecord,
} from './types.ts';

/** How items are scored: option log-likelihoods, or a generated reply read for its answer. */
export type EvalMode = 'loglik' | 'generate';

/** Everything recorded about one scored item, so a report can show and link it. */
export interface EvalRecord {
  /** The item id (paired comparisons match on it). */
  id: string;
  /** Where the item is in the benchmark file. */
  source: ItemSource;
  /** The breakdown group, when the data has one. */
  subject?: string;
  /** The question text. */
  question: string;
  /** The options, in letter order. */
  options: string[];
  /** 0-based index of the correct option. */
  answerIndex: number;
  /** The text the model saw: the log-likelihood context, or the last user message. */
  prompt: string;
  /** Generate mode: the whole conversation, few-shot turns included. */
  messages?: ChatMessage[];
  /** Log-likelihood mode: one score per option, in option order. */
  scores?: LoglikResult[];
  /** The chosen option (highest log-likelihood, or the extracted answer); null when unparseable. */
  prediction: number | null;
  /** Whether `prediction` is the correct option. */
  correct: boolean;
  /** Log-likelihood mode: the acc_norm choice (per character under `lm-eval`, per byte under `workbench`). */
  predictionNorm?: number | null;
  /** Log-likelihood mode: whether `predictionNorm` is correct. */
  correctNorm?: boolean;
  /** `lm-eval` log-likelihood: the choice by log-likelihood per UTF-8 byte (acc_bytes). */
  predictionBytes?: number;
  /** `lm-eval` log-likelihood: whether `predictionBytes` is correct. */
  correctBytes?: boolean;
  /** Generate mode: the model's raw reply. */
  output?: string;
  /** Generate mode: the rule that read the answer off the reply. */
  extractedBy?: ExtractionRule;
  /** Reasoning answers: whether the reply has `## Thought` then `## Summarization`. */
  formatted?: boolean;
  /** Reasoning answers: the diagnosis the reply states, or null when it states none. */
  diagnosis?: string | null;
  /** Reasoning answers: whether the option was matched by its text or a stated letter. */
  matchedBy?: 'text' | 'letter';
  /** Reasoning answers: why no option was read (the record is `[invalid]`). */
  invalid?: InvalidReason;
  /** `lm-eval` generate mode: what lm-eval's filter returned (a letter, or `[invalid]`). */
  filtered?: string;
  /** Milliseconds the model spent on this item (a batch's time shared among its items). */
  latencyMs: number;
}

/** Accuracy of one subject in a summary. */
export interface SubjectSummary {
  /** The subject. */
  subject: string;
  /** Items scored in it. */
  n: number;
  /** Its accuracy. */
  accuracy: number;
  /** 95% bootstrap interval. */
  ci95: [number, number];
}

/** The headline figures of an evaluation (what `finemed eval --json` prints). */
export interface EvalSummary {
  /** The benchmark format. */
  format: BenchmarkFormat;
  /** The benchmark file. */
  bench: string;
  /** The scoring mode. */
  mode: EvalMode;
  /** The profile that prompted and scored (absent in results stored before profiles: `workbench`). */
  harness?: Harness;
  /** `lm-eval`: the lm-evaluation-harness version its prompts and rules come from. */
  harness_ref?: string;
  /** `lm-eval`: whether the run can stand beside a published lm-eval number, and why not. */
  lm_eval?: Conformance;
  /** Valid items in the file. */
  n_items: number;
  /** Items scored (fewer than `n_items` under a limit). */
  n_scored: number;
  /** Malformed records skipped. */
  n_skipped: number;
  /** Where and why records were skipped (the first 100). */
  skipped: SkippedRecord[];
  /** Fraction of scored items answered correctly (null when none were scored). */
  accuracy: number | null;
  /** 95% percentile-bootstrap interval of `accuracy`. */
  ci95: [number | null, number | null];
  /**
   * Log-likelihood mode: accuracy choosing by log-likelihood per character of the choice
   * (`lm-eval`, as lm-eval's acc_norm) or per UTF-8 byte (`workbench`).
   */
  acc_norm?: number | null;
  /** Log-likelihood mode: 95% bootstrap interval of `acc_norm`. */
  acc_norm_ci95?: [number | null, number | null];
  /** `lm-eval` log-likelihood: accuracy choosing by log-likelihood per UTF-8 byte. */
  acc_bytes?: number | null;
  /** `lm-eval` log-likelihood: 95% bootstrap interval of `acc_bytes`. */
  acc_bytes_ci95?: [number | null, number | null];
  /** `lm-eval` generate mode: lm-eval's metric name for `accuracy` (MMLU-Pro's `exact_match`). */
  metric?: 'exact_match';
  /** Generate mode: replies no rule could read an answer from (counted as wrong). */
  n_unparseable?: number;
  /** Generate mode: `reasoning` when long-reasoning answers were asked for (absent: `letter`). */
  answer?: 'reasoning';
  /** Reasoning answers: share of replies with both `## Thought` and `## Summarization`. */
  format_rate?: number | null;
  /** Reasoning answers: share of `[invalid]` replies (no diagnosis, or one that is no option). */
  invalid_rate?: number | null;
  /** Accuracy per subject, when the data has subjects. */
  by_subject: SubjectSummary[];
  /** Few-shot examples per item. */
  shots: number;
  /** Whether chain of thought was asked for (generate mode). */
  chain_of_thought: boolean;
  /** Log-likelihood mode: present when options were scored in the model's chat template. */
  chat_template?: true;
  /** With `chat_template`: what the assistant's reply said before each option. */
  answer_prefix?: string;
  /** Seed of the few-shot draws and the bootstrap. */
  seed: number;
  /** Bootstrap resamples behind the intervals. */
  resamples: number;
  /** The model's identity (content key or name). */
  model: string;
  /** Items per second over the whole run. */
  items_per_s: number;
}

/** A finished evaluation: the summary and one record per scored item. */
export interface EvalResult {
  /** The headline figures. */
  summary: EvalSummary;
  /** Per-item records, in file order. */
  records: EvalRecord[];
}

/** Files of a saved result, inside an artifact or an `--out` folder. */
export const SUMMARY_FILE = 'summary.json';
/** One JSON record per line. */
export const RECORDS_FILE = 'items.jsonl';

/** Writes a result into `dir` (`summary.json` and `items.jsonl`), each file atomically. */
export async function writeEvalResult(dir: string, result: EvalResult): Promise<void> {
  await writeFileAtomic(
    join(dir, RECORDS_FILE),
    result.records.map((r) => JSON.stringify(r)).join('\n') + '\n',
  );
  await writeJsonAtomic(join(dir, SUMMARY_FILE), result.summary);
}

/**
 * Reads a saved result from a folder holding `summary.json` and `items.jsonl` (an artifact or
 * an `--out` folder), or from an `eval` artifact key in `store`.
 */
export async function readEvalResult(where: string, store?: ArtifactStore): Promise<EvalResult> {
  let dir = where;
  if (!existsSync(join(dir, SUMMARY_FILE)) && store && /^[0-9a-f]{8,64}$/.test(where)) {
    const artifact = await store.get('eval', where);
    if (artifact) dir = artifact.dir;
  }
  const summaryPath = join(dir, SUMMARY_FILE);
  const recordsPath = join(dir, RECORDS_FILE);
  if (!existsSync(summaryPath) || !existsSync(recordsPath)) {
    throw new InputError(
      `not an evaluation result (expected ${SUMMARY_FILE} and ${RECORDS_FILE}, or an eval artifact key)`,
      { file: where },
    );
  }
  const summary = parseJson(summaryPath, await readTextFile(summaryPath)) as EvalSummary;
  const records: EvalRecord[] = [];
  for await (const { line, text, error } of readLines(recordsPath)) {
    if (error !== undefined) throw new InputError(error, { file: recordsPath, line });
    if (text.trim() === '') continue;
    const record = parseJson(recordsPath, text, line) as EvalRecord;
    if (typeof record?.id !== 'string' || typeof record.correct !== 'boolean') {
      throw new InputError('expected a record with id and correct', { file: recordsPath, line });
    }
    records.push(record);
  }
  return { summary, records };
}

function parseJson(file: string, text: string, line?: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`not valid JSON (${(error as Error).message})`, { file, line });
  }
}
