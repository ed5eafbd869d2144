import { InputError, throwIfCancelled } from '../core/errors.ts';
import type { CausalLM } from './causal-lm.ts';
import { floatData } from './feeds.ts';
import { runForward } from './forward.ts';
import { KvCache } from './kv-cache.ts';
import { Sampler, type SamplingOptions } from './sampler.ts';

/** Options for generation. */
export interface GenerateOptions extends SamplingOptions {
  /** Most new tokens (default 256). */
  maxTokens?: number;
  /** Tokens that end generation (default: the model's EOS ids). They are not returned. */
  stopTokenIds?: number[];
  /** Use the KV cache (default true); false recomputes the whole sequence every step. */
  useCache?: boolean;
  /** Rows per forward in batched generation (default 8). */
  batchSize?: number;
  /** Stops generation with the signal's reason. */
  signal?: AbortSignal;
}

/** Why and after how much a generation ended. */
export interface GenerationResult {
  /** `stop` (a stop token) or `length` (maxTokens or the context limit). */
  finishReason: 'stop' | 'length';
  /** Tokens in the prompt. */
  promptTokens: number;
  /** Tokens generated (the stop token not counted). */
  completionTokens: number;
}

/** One row of a batched generation. */
export interface BatchGeneration extends GenerationResult {
  /** The generated token ids (without the stop token). */
  tokens: number[];
}

/**
 * One forward step over `rows` (new tokens per row): next-token logits per row. With a cache,
 * the step reads its past and writes the grown cache into it; without, it sees only `rows`.
 */
async function step(
  model: CausalLM,
  rows: number[][],
  mask: number[][],
  positions: number[][],
  cache: KvCache | undefined,
): Promise<Float32Array> {
  const added = rows[0].length;
  const out = await runForward(
    model,
    {
      ids: rows,
      mask,
      positions,
      past: cache && cache.length > 0 ? cache.pastFeeds() : undefined,
      headRows: rows.map((_, r) => r * added + added - 1),
    },
    { logits: null, ...cache?.presentFetches(added) },
  );
  cache?.advance(added);
  return floatData(out.logits);
}

function checkPrompt(model: CausalLM, prompt: number[], field: string): void {
  if (prompt.length === 0) throw new InputError('prompt must have at least one token', { field });
  if (prompt.length >= model.config.maxPositions) {
    throw new InputError(
      `prompt has ${prompt.length} tokens, which leaves no room in the model's context of ${model.config.maxPositions} (max_position_embeddings)`,
      { field },
    );
  }
  const bad = prompt.find((id) => !Number.isInteger(id) || id < 0 || id >= model.config.vocabSize);
  if (bad !== undefined)
    throw new InputError(`token id ${bad} is outside the vocabulary`, { field });
}

function checkAbort(signal: AbortSignal | undefined): void {
  throwIfCancelled(signal, 'generation cancelled');
}

/**
 * Generates from one prompt, yielding each new token. With the cache: one prefill over the
 * prompt, then one decode step per token feeding the previous keys/values back.
 */
export async function* generateTokens(
  model: CausalLM,
  prompt: number[],
  options: GenerateOptions = {},
): AsyncGenerator<number, GenerationResult> {
  checkPrompt(model, prompt, 'prompt');
  const sampler = new Sampler(options);
  const stops = new Set(options.stopTokenIds ?? model.stopTokenIds());
  const maxTokens = options.maxTokens ?? 256;
  const useCache = options.useCache ?? true;
  const context = [...prompt];
  const result = (finishReason: GenerationResult['finishReason']): GenerationResult => ({
    finishReason,
    promptTokens: prompt.length,
    completionTokens: context.length - prompt.length,
  });
  const ones = (n: number): number[] => Array<number>(n).fill(1);
  const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  const capacity = Math.min(prompt.length + maxTokens, model.config.maxPositions);
  const cache = useCache ? new KvCache(model.config, 1, capacity) : undefined;
  // The whole sequence so far: the prefill, or every step when the cache is off.
  const whole = () => step(model, [context], [ones(context.length)], [upTo(context.length)], cache);
  checkAbort(options.signal);
  let logits = await whole();
  while (context.length - prompt.length < maxTokens) {
    const token = sampler.sample(logits, context);
    if (stops.has(token)) return result('stop');
    context.push(token);
    yield token;
    if (context.length >= capacity) break;
    checkAbort(options.signal);
    logits = cache
      ? await step(model, [[token]], [ones(context.length)], [[context.length - 1]], cache)
      : await whole();
  }
  return result('length');
}

/**
 * Generates from several prompts together: prompts are left-padded (masked out, positions
 * counted from each row's first real token) and share one KV cache; rows stop independently.
 * Row `r` samples with seed `seed + r`, so results do not depend on batch composition for greedy.
 */
export async function generateBatch(
  model: CausalLM,
  prompts: number[][],
  options: GenerateOptions = {},
): Promise<BatchGeneration[]> {
  prompts.forEach((p, i) => checkPrompt(model, p, `prompts[${i}]`));
  const size = options.batchSize ?? 8;
  const results: BatchGeneration[] = [];
  for (let start = 0; start < prompts.length; start += size) {
    const chunk = prompts.slice(start, start + size);
    results.push(...(await generateChunk(model, chunk, start, options)));
  }
  return results;
}

async function generateChunk(
  model: CausalLM,
  prompts: number[][],
  firstRow: number,
  options: GenerateOptions,
): Promise<BatchGeneration[]> {
  const stops = new Set(options.stopTokenIds ?? model.stopTokenIds());
  const maxTokens = options.maxTokens ?? 256;
  const pad = model.config.padTokenId ?? 0;
  const width = Math.max(...prompts.map((p) => p.length));
  const samplers = prompts.map(
    (_, r) => new Sampler({ ...options, seed: (options.seed ?? 0) + firstRow + r }),
  );
  const rows = prompts.map((p) => [...Array<number>(width - p.length).fill(pad), ...p]);
  const mask = prompts.map((p) =>
    Array.from({ length: width }, (_, t) => (t >= width - p.length ? 1 : 0)),
  );
  const positions = prompts.map((p) =>
    Array.from({ length: width }, (_, t) => Math.max(0, t - (width - p.length))),
  );
  const out: BatchGeneration[] = prompts.map((p) => ({
    tokens: [],
    finishReason: 'length',
    promptTokens: p.length,
    completionTokens: 0,
  }));
  const done = prompts.map(() => false);
  checkAbort(options.signal);
  const capacity = Math.min(width + maxTokens, model.config.maxPositions);
  const cache = new KvCache(model.config, prompts.length, capacity);
  let logits = await step(model, rows, mask, positions, cache);
  const vocab = model.config.vocabSize;
  for (let generated = 0; ; generated++) {
    const next = prompts.map((p, r) => {
      if (done[r]) return pad;
      const token = samplers[r].sample(logits.subarray(r * vocab, (r + 1) * vocab), [
        ...p,
        ...out[r].tokens,
      ]);
      if (stops.has(token)) {
        done[r] = true;
        out[r].finishReason = 'stop';
        return pad;
      }
      out[r].tokens.push(token);
      out[r].completionTokens++;
      return token;
    });
    const full = generated + 1 >= maxTokens || width + generated + 1 >= capacity;
    if (done.every(Boolean) || full) break;
    checkAbort(options.signal);
    mask.forEach((m) => m.push(1));
    const pos = prompts.map((p, r) => [p.length + out[r].tokens.length - (done[r] ? 0 : 1)]);
    logits = await step(
      model,
      next.map((t) => [t]),
      mask,
      pos,
      cache,
    );
  }
  return out;
}
