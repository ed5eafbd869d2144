import { throwIfCancelled } from '../core/errors.ts';
import { OrtTensorClass, type OrtTensor } from '../engine/index.ts';
import type { CausalLM } from './causal-lm.ts';
import { floatData, intData } from './feeds.ts';
import { runForward, type ForwardOutput } from './forward.ts';

/** A prompt and a continuation whose log-probability is wanted. */
export interface ScoredSequence {
  /** Context token ids (at least one). */
  prompt: number[];
  /** Continuation token ids (at least one). */
  completion: number[];
}

/** The log-probability of one continuation. */
export interface SequenceLogprob {
  /** Sum of the continuation tokens' natural-log probabilities. */
  sum: number;
  /** Number of continuation tokens. */
  count: number;
  /** Each continuation token's log-probability. */
  tokens: number[];
  /** Whether greedy decoding from the prompt would produce exactly the continuation. */
  greedy: boolean;
}

/** Floats of head output (scored positions x vocabulary) one batch may hold. */
const SCORE_BUDGET = 32 * 1024 * 1024;
/** Positions one batch may run through the decoder: its activations and cache grow with them. */
const TOKEN_BUDGET = 4096;
/** Floats of cached keys/values one continuation batch may repeat over its rows. */
const PAST_BUDGET = 64 * 1024 * 1024;
const MAX_ROWS = 64;

/** One row of a batch: input ids, and the targets read at positions `from, from+1, ...`. */
interface Row {
  item: number;
  ids: number[];
  from: number;
  targets: number[];
}

/** Options of {@link scoreSequences}. */
export interface ScoreOptions {
  /** Cancels between runs. */
  signal?: AbortSignal;
  /**
   * Whether a shared prompt runs whole in one pass that also scores every continuation's first
   * token (see {@link scoreSequences}); default: where the model takes the fast inference path.
   * The other way (prefill all but the prompt's last token, then every continuation led by it)
   * moves results in the last bits, which the built-in demo's frozen figures would notice.
   */
  onePass?: boolean;
}

/**
 * Log-probabilities of continuations given prompts. Items that share a prompt run it once.
 * With {@link ScoreOptions.onePass}, every continuation's first token is predicted at the
 * prompt's last position, so one pass over the prompt scores all of them (multiple-choice
 * letters need nothing more), and continuations of two or more tokens go on from that pass's
 * keys/values in one batch. Otherwise `prompt[0..n-2]` is prefilled into a KV cache and every
 * continuation, led by the prompt's last token, is scored on top of it. The rest are batched
 * whole (right padding, similar lengths together). Either way the output head runs only at the
 * positions that predict a continuation token.
 */
export async function scoreSequences(
  model: CausalLM,
  items: readonly ScoredSequence[],
  options: ScoreOptions = {},
): Promise<SequenceLogprob[]> {
  const { signal } = options;
  const onePass = options.onePass ?? (await model.compiled()).fast;
  const results: SequenceLogprob[] = new Array(items.length);
  const byPrompt = new Map<string, number[]>();
  items.forEach((item, i) => {
    const key = item.prompt.join(',');
    const group = byPrompt.get(key);
    if (group) group.push(i);
    else byPrompt.set(key, [i]);
  });
  const alone: Row[] = [];
  // One pass repeats the prompt's last row per item at the head: past its budget, prefill.
  const maxHeadRows = Math.floor(SCORE_BUDGET / model.config.vocabSize);
  for (const group of byPrompt.values()) {
    const whole = onePass && group.length <= maxHeadRows;
    if (group.length < 2 || (!whole && items[group[0]].prompt.length < 2))
      for (const i of group) alone.push(wholeRow(items[i], i));
    else await scoreShared(model, items, group, whole, results, signal);
  }
  await runBatches(model, alone, results, signal);
  return results;
}

/**
 * Scores items sharing one prompt. `whole`: a pass over the whole prompt with one head row per
 * item at its last position (target: the item's first token), then the tokens after the first
 * on top of the prompt's keys/values. Otherwise a prefill of all but the prompt's last token,
 * then every continuation led by that token on top of it.
 */
async function scoreShared(
  model: CausalLM,
  items: readonly ScoredSequence[],
  group: readonly number[],
  whole: boolean,
  results: SequenceLogprob[],
  signal: AbortSignal | undefined,
): Promise<void> {
  throwIfCancelled(signal);
  const prompt = items[group[0]].prompt;
  const cached = whole ? prompt : prompt.slice(0, -1);
  const lead = whole ? [] : [prompt[prompt.length - 1]];
  const skip = whole ? 1 : 0;
  const rows = group
    .filter((i) => items[i].completion.length > skip)
    .map((i) => ({
      item: i,
      ids: [...lead, ...items[i].completion.slice(0, -1)],
      from: 0,
      targets: items[i].completion.slice(skip),
    }));
  const names = rows.length > 0 ? presentNames(model) : [];
  const heads = whole ? group : [];
  const out = await runForward(
    model,
    {
      ids: [cached],
      headRows: heads.map(() => cached.length - 1),
      targets: heads.map((i) => items[i].completion[0]),
    },
    whole ? ['logprobs', 'greedy', ...names] : names,
  );
  const after: SequenceLogprob[] = new Array(items.length);
  const past = pastOf(out, names);
  await runBatches(model, rows, after, signal, {
    past,
    pastPerRow: pastFloats(model, cached.length),
  });
  const logprobs = whole ? floatData(out.logprobs) : undefined;
  const greedy = whole ? intData(out.greedy) : undefined;
  group.forEach((i, k) => {
    const tokens = [...(logprobs ? [logprobs[k]] : []), ...(after[i]?.tokens ?? [])];
    results[i] = {
      sum: tokens.reduce((a, b) => a + b, 0),
      count: tokens.length,
      tokens,
      greedy: (!greedy || greedy[k] === 1) && (after[i]?.greedy ?? true),
    };
  });
}

/** Floats of keys/values `positions` cached positions take in one row. */
function pastFloats(model: CausalLM, positions: number): number {
  const { numLayers, numKvHeads, headDim } = model.config;
  return 2 * numLayers * numKvHeads * positions * headDim;
}

/** A whole sequence as one row: ids up to the last but one, targets from the prompt's last token. */
function wholeRow(item: ScoredSequence, index: number): Row {
  const seq = [...item.prompt, ...item.completion];
  return {
    item: index,
    ids: seq.slice(0, -1),
    from: item.prompt.length - 1,
    targets: item.completion,
  };
}

function presentNames(model: CausalLM): ForwardOutput[] {
  return Array.from({ length: model.config.numLayers }, (_, i) => [
    `present.${i}.key` as const,
    `present.${i}.value` as const,
  ]).flat();
}

/** A run's `present.{i}.key|value` outputs as the next run's `past.{i}.key|value` feeds. */
function pastOf(
  out: Record<string, OrtTensor>,
  names: readonly ForwardOutput[],
): Record<string, OrtTensor> {
  return Object.fromEntries(names.map((n) => [n.replace('present.', 'past.'), out[n]]));
}

/** `past` (one row) repeated for `rows` rows. */
function repeatPast(past: Record<string, OrtTensor>, rows: number): Record<string, OrtTensor> {
  if (rows === 1) return past;
  const out: Record<string, OrtTensor> = {};
  for (const [name, tensor] of Object.entries(past)) {
    const one = floatData(tensor);
    const data = new Float32Array(one.length * rows);
    for (let r = 0; r < rows; r++) data.set(one, r * one.length);
    out[name] = new OrtTensorClass('float32', data, [rows, ...tensor.dims.slice(1)]);
  }
  return out;
}

/**
 * Scores `rows` longest first in batches bounded by rows, positions, head output and (with a
 * shared past) broadcast cache, writing each row's result at its item.
 */
async function runBatches(
  model: CausalLM,
  rows: Row[],
  results: SequenceLogprob[],
  signal: AbortSignal | undefined,
  shared?: { past: Record<string, OrtTensor>; pastPerRow: number },
): Promise<void> {
  const sorted = [...rows].sort((a, b) => b.ids.length - a.ids.length || a.item - b.item);
  const maxScored = Math.floor(SCORE_BUDGET / model.config.vocabSize);
  for (let start = 0; start < sorted.length;) {
    throwIfCancelled(signal);
    const width = sorted[start].ids.length;
    let end = start + 1;
    let scored = sorted[start].targets.length;
    while (
      end < sorted.length &&
      end - start < MAX_ROWS &&
      (end - start + 1) * width <= TOKEN_BUDGET &&
      scored + sorted[end].targets.length <= maxScored &&
      (end - start + 1) * (shared?.pastPerRow ?? 0) <= PAST_BUDGET
    ) {
      scored += sorted[end].targets.length;
      end++;
    }
    await runBatch(model, sorted.slice(start, end), width, results, shared?.past);
    start = end;
  }
}

async function runBatch(
  model: CausalLM,
  batch: Row[],
  width: number,
  results: SequenceLogprob[],
  past: Record<string, OrtTensor> | undefined,
): Promise<void> {
  const headRows: number[] = [];
  const targets: number[] = [];
  batch.forEach((row, r) => {
    row.targets.forEach((target, k) => {
      headRows.push(r * width + row.from + k);
      targets.push(target);
    });
  });
  const out = await runForward(
    model,
    {
      ids: batch.map((row) => padRight(row.ids, width)),
      past: past && repeatPast(past, batch.length),
      headRows,
      targets,
    },
    ['logprobs', 'greedy'],
  );
  const logprobs = floatData(out.logprobs);
  const greedy = intData(out.greedy);
  let at = 0;
  for (const row of batch) {
    const count = row.targets.length;
    const tokens = Array.from(logprobs.subarray(at, at + count));
    results[row.item] = {
      sum: tokens.reduce((a, b) => a + b, 0),
      count,
      tokens,
      greedy: greedy.slice(at, at + count).every((g) => g === 1),
    };
    at += count;
  }
}

function padRight(ids: number[], width: number): number[] {
  return ids.length === width ? ids : [...ids, ...Array<number>(width - ids.length).fill(0)];
}
