import type { ArtifactStore } from '../core/artifacts.ts';
import { hashFile } from '../core/hash.ts';
import type { ProgressSink } from '../core/progress.ts';
import { lmEvalConformance } from './harness-conformance.ts';
import { lmEvalRecords } from './harness-scoring.ts';
import { LM_EVAL_REF, type Harness } from './harness.ts';
import type { LoadOptions } from './loaders/load.ts';
import { defaultChoiceStyle, type ChoiceStyle } from './prompts.ts';
import {
  readEvalResult,
  writeEvalResult,
  type EvalMode,
  type EvalRecord,
  type EvalResult,
  type EvalSummary,
} from './results.ts';
import {
  DEFAULT_REASONING_TOKENS,
  reasoningSummary,
  scoreReasoning,
  type AnswerStyle,
} from './reasoning.ts';
import { scoreGenerate, scoreLoglik } from './scoring.ts';
import { accuracyCI, bySubject, type AccuracyEstimate } from './stats.ts';
import type {
  ChatGenerator,
  ChatMessage,
  EvalItem,
  LoadedBenchmark,
  LoglikScorer,
} from './types.ts';

/** The model under evaluation: its identity and whichever interfaces the mode needs. */
export interface EvalModel {
  /** A content key (or name) that identifies the weights; it keys the result artifact. */
  key: string;
  /** Needed for `loglik` mode. */
  scorer?: LoglikScorer;
  /** Needed for `generate` mode. */
  generator?: ChatGenerator;
  /** Renders a conversation with the model's chat template (needed for chat log-likelihoods). */
  chatTemplate?: (messages: readonly ChatMessage[]) => string;
  /** The harness whose BOS rule the scorer and generator tokenize by, when it matters. */
  harness?: Harness;
}

/** How to run an evaluation. */
export interface EvalOptions {
  /**
   * The profile (default `workbench` here, for the library's callers such as TTT; `finemed
   * eval` and `wb.evaluate` default to `lm-eval`). `lm-eval` fixes the mode, choices and
   * few-shot source per task, and takes shots only from `shotPool`.
   */
  harness?: Harness;
  /** `loglik` (default) or `generate`. */
  mode?: EvalMode;
  /** Score only the first N valid items. */
  limit?: number;
  /** Few-shot examples per item (default 0). */
  shots?: number;
  /** Few-shot source other than the benchmark itself (a dev split). */
  shotPool?: readonly EvalItem[];
  /** Seed of few-shot draws and bootstrap (default 0). */
  seed?: number;
  /** Generate mode: ask for step-by-step reasoning. */
  chainOfThought?: boolean;
  /**
   * Generate mode: `letter` (default) asks for "The answer is (X)"; `reasoning` asks the way
   * the long-reasoning training rows ask and reads the diagnosis from `## Summarization`.
   */
  answer?: AnswerStyle;
  /** Generate mode: a system message. */
  system?: string;
  /** Generate mode: reply token budget (default 32, or 1024 with chain of thought). */
  maxTokens?: number;
  /** Log-likelihood mode: score letters or option texts (default per format). */
  choiceStyle?: ChoiceStyle;
  /** Log-likelihood mode: score in the model's chat template (the question as the user's turn). */
  chat?: boolean;
  /** Log-likelihood mode with `chat`: what the assistant's reply says before the option. */
  answerPrefix?: string;
  /** Items per model call (default 1). */
  batchSize?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Receives progress events. */
  onProgress?: ProgressSink;
  /** Cancels the run. */
  signal?: AbortSignal;
}

/** Scores a loaded benchmark with a model and summarizes it. */
export async function evaluate(
  bench: LoadedBenchmark,
  model: EvalModel,
  opts: EvalOptions = {},
): Promise<EvalResult> {
  const items = opts.limit === undefined ? bench.items : bench.items.slice(0, opts.limit);
  if (opts.answer === 'reasoning' && (opts.harness === 'lm-eval' || opts.mode !== 'generate'))
    throw new Error("reasoning answers need mode 'generate' under the workbench harness");
  if (opts.harness === 'lm-eval') {
    const began = performance.now();
    const run = await lmEvalRecords(bench.format, items, model, opts);
    const seconds = (performance.now() - began) / 1000;
    const summary = summarize(bench, run.records, model.key, run.mode, opts, seconds);
    return {
      summary: {
        ...summary,
        shots: run.shots,
        chain_of_thought: run.mode === 'generate',
        harness_ref: LM_EVAL_REF,
        lm_eval: lmEvalConformance(bench, items, { shots: run.shots }),
      },
      records: run.records,
    };
  }
  const mode = opts.mode ?? 'loglik';
  const common = {
    format: bench.format,
    shots: opts.shots,
    shotPool: opts.shotPool ?? bench.items,
    seed: opts.seed,
    batchSize: opts.batchSize,
    onProgress: opts.onProgress,
    signal: opts.signal,
  };
  const began = performance.now();
  let records: EvalRecord[];
  if (mode === 'loglik') {
    if (!model.scorer) throw new Error(`model ${model.key} cannot score log-likelihoods`);
    if (opts.chat && !model.chatTemplate)
      throw new Error(`model ${model.key} has no chat template to score in`);
    records = await scoreLoglik(items, model.scorer, {
      ...common,
      choiceStyle: opts.choiceStyle ?? defaultChoiceStyle(bench.format),
      chat:
        opts.chat && model.chatTemplate
          ? { render: model.chatTemplate, answerPrefix: opts.answerPrefix }
          : undefined,
    });
  } else {
    if (!model.generator) throw new Error(`model ${model.key} cannot generate`);
    records =
      opts.answer === 'reasoning'
        ? await scoreReasoning(items, model.generator, {
            ...common,
            maxTokens: opts.maxTokens ?? DEFAULT_REASONING_TOKENS,
          })
        : await scoreGenerate(items, model.generator, {
            ...common,
            chainOfThought: opts.chainOfThought,
            system: opts.system,
            maxTokens: opts.maxTokens ?? (opts.chainOfThought ? 1024 : 32),
          });
  }
  const seconds = (performance.now() - began) / 1000;
  return { summary: summarize(bench, records, model.key, mode, opts, seconds), records };
}

function interval(estimate: AccuracyEstimate): [number | null, number | null] {
  return [nullIfNaN(estimate.lo), nullIfNaN(estimate.hi)];
}

function nullIfNaN(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}

/** The headline figures of a set of records. */
export function summarize(
  bench: LoadedBenchmark,
  records: readonly EvalRecord[],
  model: string,
  mode: EvalMode,
  opts: EvalOptions,
  seconds: number,
): EvalSummary {
  const boot = { seed: opts.seed ?? 0, resamples: opts.resamples ?? 2000 };
  const acc = accuracyCI(
    records.map((r) => r.correct),
    boot,
  );
  const modeFields =
    mode === 'loglik'
      ? (() => {
          const norm = accuracyCI(
            records.map((r) => r.correctNorm === true),
            boot,
          );
          const bytes =
            opts.harness === 'lm-eval'
              ? accuracyCI(
                  records.map((r) => r.correctBytes === true),
                  boot,
                )
              : undefined;
          return {
            acc_norm: nullIfNaN(norm.acc),
            acc_norm_ci95: interval(norm),
            ...(bytes ? { acc_bytes: nullIfNaN(bytes.acc), acc_bytes_ci95: interval(bytes) } : {}),
          };
        })()
      : {
          n_unparseable: records.filter((r) => r.prediction === null).length,
          ...(opts.answer === 'reasoning'
            ? { answer: 'reasoning' as const, ...reasoningSummary(records) }
            : {}),
        };
  return {
    format: bench.format,
    bench: bench.file,
    mode,
    harness: opts.harness ?? 'workbench',
    ...(opts.harness === 'lm-eval' && mode === 'generate'
      ? { metric: 'exact_match' as const }
      : {}),
    n_items: bench.items.length,
    n_scored: records.length,
    n_skipped: bench.skipped.length,
    skipped: bench.skipped.slice(0, 100),
    accuracy: nullIfNaN(acc.acc),
    ci95: interval(acc),
    ...modeFields,
    by_subject: bySubject(records, boot).map((g) => ({
      subject: g.subject,
      n: g.n,
      accuracy: g.acc,
      ci95: [g.lo, g.hi],
    })),
    shots: opts.shots ?? 0,
    chain_of_thought: mode === 'generate' && opts.chainOfThought === true,
    ...(mode === 'loglik' && opts.chat
      ? { chat_template: true, answer_prefix: opts.answerPrefix ?? '' }
      : {}),
    seed: boot.seed,
    resamples: boot.resamples,
    model,
    items_per_s: seconds > 0 ? records.length / seconds : 0,
  };
}

/** What else, besides the model and options, decides a result (it keys the artifact). */
export interface EvalInputs {
  /** How the benchmark was loaded. */
  load?: LoadOptions;
  /** The few-shot dev file, when shots come from one. */
  shotsFile?: string;
}

/** A result and where it is stored. */
export interface StoredEval {
  /** The result. */
  result: EvalResult;
  /** The artifact folder. */
  dir: string;
  /** The artifact key. */
  key: string;
  /** True when a finished artifact for the same recipe was reused instead of re-running. */
  reused: boolean;
}

/**
 * Evaluates through the artifact store: the result is keyed by the benchmark file's content,
 * the model key, every option that changes the numbers, the seed and the code version, so
 * asking again for the same evaluation returns the stored one without running the model.
 */
export async function runEval(
  store: ArtifactStore,
  bench: LoadedBenchmark,
  model: EvalModel,
  opts: EvalOptions = {},
  inputs: EvalInputs = {},
): Promise<StoredEval> {
  const load = inputs.load ?? {};
  const recipe = {
    kind: 'eval',
    inputs: {
      bench: await hashFile(bench.file),
      model: model.key,
      ...(load.truthFile ? { truth: await hashFile(load.truthFile) } : {}),
      ...(inputs.shotsFile ? { shots: await hashFile(inputs.shotsFile) } : {}),
    },
    config: {
      format: bench.format,
      mode: opts.mode ?? 'loglik',
      // Only under lm-eval, so that workbench results stored before profiles keep their keys.
      ...(opts.harness === 'lm-eval' ? { harness: 'lm-eval' } : {}),
      limit: opts.limit ?? null,
      shots: opts.shots ?? 0,
      chainOfThought: opts.chainOfThought ?? false,
      // Only when set, so that results stored before answer styles keep their keys.
      ...(opts.answer === 'reasoning' ? { answer: 'reasoning' } : {}),
      system: opts.system ?? null,
      maxTokens: opts.maxTokens ?? null,
      choiceStyle: opts.choiceStyle ?? null,
      chat: opts.chat ?? false,
      answerPrefix: opts.answerPrefix ?? null,
      resamples: opts.resamples ?? 2000,
      copBase: load.copBase ?? 'auto',
      skipBadRows: load.skipBadRows ?? false,
      subject: load.subject ?? null,
      // Only when set, so that results stored before the limit existed keep their keys.
      ...(load.maxRowBytes !== undefined ? { maxRowBytes: load.maxRowBytes } : {}),
    },
    seed: opts.seed ?? 0,
  };
  let fresh: EvalResult | undefined;
  const artifact = await store.getOrCreate(recipe, async (dir) => {
    fresh = await evaluate(bench, model, opts);
    await writeEvalResult(dir, fresh);
    return fresh.summary;
  });
  const result = artifact.reused || !fresh ? await readEvalResult(artifact.dir) : fresh;
  return { result, dir: artifact.dir, key: artifact.meta.key, reused: artifact.reused };
}
