import { throwIfCancelled } from '../core/errors.ts';
import { OrtTensorClass, type OrtTensor } from '../engine/index.ts';
import type { CausalLM } from './causal-lm.ts';
import { floatData, intData } from './feeds.ts';
import { runForward } from './forward.ts';

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

/**
 * Log-probabilities of continuations given prompts. Items that share a prompt (of two or more
 * tokens) run it once: `prompt[0..n-2]` is prefilled into a KV cache, and every continuation,
 * led by the prompt's last token, is scored in one batch on top of it. The rest are batched
 * whole (right padding, similar lengths together). Either way the output head runs only at
 * the positions that predict a continuation token.
 */
export async function scoreSequences(
  model: CausalLM,
  items: readonly ScoredSequence[],
  signal?: AbortSignal,
): Promise<SequenceLogprob[]> {
  const results: SequenceLogprob[] = new Array(items.length);
  const byPrompt = new Map<string, number[]>();
  items.forEach((item, i) => {
    const key = item.prompt.join(',');
    const group = byPrompt.get(key);
    if (group) group.push(i);
    else byPrompt.set(key, [i]);
  });
  const alone: Row[] = [];
  for (const group of byPrompt.values()) {
    const prompt = items[group[0]].prompt;
    if (group.length < 2 || prompt.length < 2) {
      for (const i of group) alone.push(wholeRow(items[i], i));
      continue;
    }
    checkAbort(signal);
    const past = await prefill(model, prompt.slice(0, -1));
    const rows = group.map((i) => ({
      item: i,
      ids: [prompt[prompt.length - 1], ...items[i].completion.slice(0, -1)],
      from: 0,
      targets: items[i].completion,
    }));
    const { numLayers, numKvHeads, headDim } = model.config;
    const pastPerRow = 2 * numLayers * numKvHeads * (prompt.length - 1) * headDim;
    await runBatches(model, rows, results, signal, { past, pastPerRow });
  }
  await runBatches(model, alone, results, signal);
  return results;
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

/** The keys/values of `ids` (one row), as `past.{i}.key|value` feeds. */
async function prefill(model: CausalLM, ids: number[]): Promise<Record<string, OrtTensor>> {
  const names = Array.from({ length: model.config.numLayers }, (_, i) => [
    `present.${i}.key` as const,
    `present.${i}.value` as const,
  ]).flat();
  const out = await runForward(model, { ids: [ids], headRows: [] }, names);
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
    checkAbort(signal);
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

function checkAbort(signal: AbortSignal | undefined): void {
  throwIfCancelled(signal);
}
