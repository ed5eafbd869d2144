import { InputError } from '../core/errors.ts';
import {
  INVALID,
  MMLU_PRO_GENERATION,
  codePoints,
  lmEvalChoices,
  lmEvalContext,
  lmEvalExtract,
  lmEvalDefaultShots,
  lmEvalMode,
  lmEvalShots,
} from './harness.ts';
import { optionLetter } from './loaders/common.ts';
import {
  inBatches,
  itemFields,
  normalisedPick,
  scoreChoices,
  utf8Bytes,
  type ScoreOptions,
} from './scoring.ts';
import { defaultChoiceStyle } from './prompts.ts';
import type { EvalMode, EvalRecord } from './results.ts';
import type { EvalModel, EvalOptions } from './run.ts';
import type { BenchmarkFormat, ChatGenerator, EvalItem, LoglikScorer } from './types.ts';

/** Options of the `lm-eval` profile's scoring. */
export interface LmEvalScoreOptions extends Omit<ScoreOptions, 'seed'> {
  /** Generate mode: reply token budget (default `max_gen_toks` 2048). */
  maxTokens?: number;
}

function shotsOf(item: EvalItem, opts: LmEvalScoreOptions): EvalItem[] {
  return lmEvalShots(opts.format, item, opts.shotPool, opts.shots ?? 0);
}

/**
 * lm-eval's `multiple_choice`: each choice after the target delimiter ` `; `acc` takes the
 * highest log-likelihood, `acc_norm` the highest per character of the choice (Python `len`),
 * `acc_bytes` the highest per UTF-8 byte.
 */
export async function scoreLmEvalLoglik(
  items: readonly EvalItem[],
  scorer: LoglikScorer,
  opts: LmEvalScoreOptions,
): Promise<EvalRecord[]> {
  return inBatches(items, opts, async (batch) => {
    const prompts = batch.map((item) => ({
      item,
      context: lmEvalContext(opts.format, item, shotsOf(item, opts)),
      choices: lmEvalChoices(opts.format, item),
    }));
    const records = await scoreChoices(prompts, ' ', scorer, opts.signal);
    return records.map((record, i) => {
      const norm = normalisedPick(record, prompts[i].choices, codePoints);
      const bytes = normalisedPick(record, prompts[i].choices, utf8Bytes);
      return {
        ...record,
        predictionNorm: norm.prediction,
        correctNorm: norm.correct,
        predictionBytes: bytes.prediction,
        correctBytes: bytes.correct,
      };
    });
  });
}

/**
 * lm-eval's `generate_until` for MMLU-Pro: the plain-text prompt (no chat template), greedy
 * until `Question:`, the reply read by the `custom-extract` filter and scored by
 * `exact_match` against the answer letter.
 */
export async function scoreLmEvalGenerate(
  items: readonly EvalItem[],
  generator: ChatGenerator,
  opts: LmEvalScoreOptions,
): Promise<EvalRecord[]> {
  return inBatches(items, opts, async (batch) => {
    const prompts = batch.map((item) => lmEvalContext(opts.format, item, shotsOf(item, opts)));
    const replies = await generator.generate(
      prompts.map((prompt) => ({
        messages: [],
        prompt,
        maxTokens: opts.maxTokens ?? MMLU_PRO_GENERATION.maxGenToks,
        stop: [...MMLU_PRO_GENERATION.until],
      })),
      opts.signal,
    );
    if (replies.length !== batch.length) {
      throw new Error(`generator returned ${replies.length} replies for ${batch.length} requests`);
    }
    return batch.map((item, i) => {
      const filtered = lmEvalExtract(replies[i]);
      const index = filtered === INVALID ? -1 : filtered.charCodeAt(0) - 65;
      return {
        ...itemFields(item),
        prompt: prompts[i],
        prediction: index >= 0 && index < item.options.length ? index : null,
        correct: filtered === optionLetter(item.answerIndex),
        output: replies[i],
        filtered,
        extractedBy: filtered === INVALID ? 'none' : 'lm-eval-regex',
      };
    });
  });
}

/** The options `lm-eval` fixes itself: asking for another value is refused, naming it. */
function refuseWorkbenchOptions(format: BenchmarkFormat, opts: EvalOptions): void {
  const wanted = lmEvalMode(format);
  const clashes: string[] = [];
  if (opts.mode !== undefined && opts.mode !== wanted) {
    clashes.push(`mode ${opts.mode} (lm-eval's ${format} task is ${wanted})`);
  }
  if (opts.chat) clashes.push('chat-template scoring');
  if (opts.choiceStyle !== undefined && opts.choiceStyle !== defaultChoiceStyle(format)) {
    clashes.push(`choices ${opts.choiceStyle}`);
  }
  if (opts.chainOfThought) clashes.push("--cot (lm-eval's mmlu_pro prompt asks for it already)");
  if (opts.system !== undefined) clashes.push('a system message');
  if (clashes.length > 0) {
    throw new InputError(
      `--harness lm-eval reproduces lm-evaluation-harness's ${format} task and takes no ${clashes.join(', ')}; use --harness workbench for those`,
      { field: 'harness' },
    );
  }
}

/** An `lm-eval` run's records, with the mode and shot count lm-eval's task decided. */
export async function lmEvalRecords(
  format: BenchmarkFormat,
  items: readonly EvalItem[],
  model: EvalModel,
  opts: EvalOptions,
): Promise<{ mode: EvalMode; shots: number; records: EvalRecord[] }> {
  refuseWorkbenchOptions(format, opts);
  if (model.harness !== undefined && model.harness !== 'lm-eval') {
    throw new Error(
      `model ${model.key} was loaded for the ${model.harness} harness (its BOS rule)`,
    );
  }
  const mode = lmEvalMode(format);
  const shots = opts.shots ?? lmEvalDefaultShots(format);
  const common = {
    format,
    shots,
    shotPool: opts.shotPool,
    batchSize: opts.batchSize,
    onProgress: opts.onProgress,
    signal: opts.signal,
  };
  if (mode === 'loglik') {
    if (!model.scorer) throw new Error(`model ${model.key} cannot score log-likelihoods`);
    return { mode, shots, records: await scoreLmEvalLoglik(items, model.scorer, common) };
  }
  if (!model.generator) throw new Error(`model ${model.key} cannot generate`);
  const records = await scoreLmEvalGenerate(items, model.generator, {
    ...common,
    maxTokens: opts.maxTokens,
  });
  return { mode, shots, records };
}
