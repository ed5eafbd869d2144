import { InputError } from '../core/errors.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { Sampler, type SamplingOptions } from '../model/sampler.ts';
import { ContextLengthError } from './served-model.ts';
import { TokenTextStream } from '../model/tokenizer.ts';

/**
 * Logits floats one echo forward may hold (256 MB). The legacy `logprobs` object needs a top-k
 * per position, so the whole `[T, V]` logits of the sequence are read at once.
 */
const LOGITS_BUDGET = 64 * 1024 * 1024;

/** What a completion with `echo` or `logprobs` asks of the model. */
export interface ScoredCompletionRequest {
  /** The prompt: text (encoded as plain completions are) or token ids, as vLLM accepts. */
  prompt: string | number[];
  /** Tokens to generate after the prompt (0 only with echo: score the prompt alone). */
  maxTokens: number;
  /** Sampling settings of the generated tokens. */
  sampling: SamplingOptions;
  /** Generation ends before any of these strings. */
  stop: string[];
  /** Alternatives per position in `top_logprobs` (the `logprobs` field). */
  top: number;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** One scored token, as the legacy completions `logprobs` object lists them. */
export interface ScoredToken {
  /** The token's text (a special token's own string). */
  token: string;
  /** Natural-log probability given everything before it; null for the very first token. */
  logprob: number | null;
  /** The `top` most likely tokens at this position plus this one; null for the first token. */
  top: Record<string, number> | null;
  /** Where its text starts in the prompt-plus-generated text (special tokens have none). */
  offset: number;
}

/** A completion scored token by token. */
export interface ScoredCompletion {
  /** The prompt's text (the given text, or the ids decoded). */
  promptText: string;
  /** The generated text (stop strings and stop tokens excluded). */
  text: string;
  /** Every prompt token, then every generated one (a stop token included, as vLLM does). */
  tokens: ScoredToken[];
  /** How many of `tokens` are the prompt's. */
  promptTokens: number;
  /** Why generation ended (`length` also when nothing was asked for). */
  finishReason: 'stop' | 'length';
}

/** A model that can score its prompt and report per-token log-probabilities (serve-model's echo). */
export interface ScoringModel {
  /** Scores the prompt and any generated tokens. Bad input fails as `complete` does (InputError). */
  scoreCompletion(request: ScoredCompletionRequest): Promise<ScoredCompletion>;
}

/**
 * Echo and logprobs over a loaded model: the reply is generated as `complete` does, then one
 * forward over prompt plus reply gives every position's distribution. The logprobs are the
 * model's raw distribution (before temperature or top-p), as vLLM reports them by default.
 */
export function scoringModel(model: CausalLM): ScoringModel {
  return {
    async scoreCompletion(request) {
      const tokenizer = model.tokenizer;
      if (!tokenizer) throw new Error('this model has no tokenizer.json');
      const prompt =
        typeof request.prompt === 'string'
          ? tokenizer.encode(request.prompt, { addSpecialTokens: true })
          : request.prompt;
      const context = model.config.maxPositions;
      if (prompt.length === 0)
        throw new InputError('prompt must have at least one token', { field: 'prompt' });
      const bad = prompt.find((id) => id >= model.config.vocabSize);
      if (bad !== undefined)
        throw new InputError(
          `token id ${bad} is outside the vocabulary [0, ${model.config.vocabSize})`,
          { field: 'prompt' },
        );
      if (prompt.length + (request.maxTokens > 0 ? 1 : 0) > context)
        throw new ContextLengthError(prompt.length, context);
      const vocab = model.config.vocabSize;
      const longest = prompt.length + Math.min(request.maxTokens, context - prompt.length);
      if (longest * vocab > LOGITS_BUDGET)
        throw new InputError(
          `echo/logprobs over ${longest} tokens needs more than ${LOGITS_BUDGET} logits; send a shorter prompt or fewer max_tokens`,
          { field: 'prompt' },
        );
      const generated = await generate(model, prompt, request);
      const ids = [...prompt, ...generated.ids];
      const stopped = generated.finishReason === 'stop' && generated.cut === undefined;
      // With a stop token to add, the last row is its distribution; else it is not needed.
      const rows =
        generated.rows ??
        (stopped || ids.length > 1
          ? await model.logits([stopped ? ids : ids.slice(0, -1)])
          : undefined);
      let stopToken = generated.stopToken;
      if (stopped && stopToken === undefined && rows) {
        // The generator ends on a stop token without yielding it; which one it was is the
        // likeliest of them there (the one greedy decoding chose).
        const last = rows.data.subarray(rows.data.length - vocab);
        const stops = model.stopTokenIds();
        stopToken = stops.reduce((best, id) => (last[id] > last[best] ? id : best), stops[0]);
      }
      // Kept in the logprobs as vLLM keeps it (lm-eval drops the last token as the generated one).
      if (stopped && stopToken !== undefined) ids.push(stopToken);
      const special = tokenizer.specialTokenIds();
      const stream = new TokenTextStream(tokenizer, { skipSpecialTokens: true });
      let offset = 0;
      const tokens = ids.map((id, i): ScoredToken => {
        const piece = stream.push(id);
        const token = special.has(id) ? (tokenizer.tokenText(id) ?? '') : piece;
        const at = offset;
        offset += piece.length;
        if (i === 0 || !rows) return { token, logprob: null, top: null, offset: at };
        const row = rows.data.subarray((i - 1) * vocab, i * vocab);
        const { logprob, top } = positionScores(row, id, request.top, (t) =>
          special.has(t) ? (tokenizer.tokenText(t) ?? '') : tokenizer.decode([t]),
        );
        return { token, logprob, top: { ...top, [token]: logprob }, offset: at };
      });
      const promptText =
        typeof request.prompt === 'string'
          ? request.prompt
          : tokenizer.decode(prompt, { skipSpecialTokens: true });
      return {
        promptText,
        text: generated.text,
        tokens,
        promptTokens: prompt.length,
        finishReason: generated.finishReason,
      };
    },
  };
}

/** What {@link generate} produced. */
interface Generated {
  /** Generated ids, without a stop token. */
  ids: number[];
  /** Their text, cut at the first stop string. */
  text: string;
  /** Why it ended. */
  finishReason: 'stop' | 'length';
  /** Where a stop string cut the text. */
  cut?: number;
  /** The stop token that ended it, when known. */
  stopToken?: number;
  /** The prompt's logits, when generating one token read them already. */
  rows?: { data: Float32Array; dims: number[] };
}

/**
 * Generates as `complete` does. One token (what lm-evaluation-harness asks with echo) is read
 * off the prompt's own forward, which the logprobs need anyway: one forward instead of two.
 */
async function generate(
  model: CausalLM,
  prompt: number[],
  request: ScoredCompletionRequest,
): Promise<Generated> {
  if (request.maxTokens === 0) return { ids: [], text: '', finishReason: 'length' };
  const room = model.config.maxPositions - prompt.length;
  if (request.maxTokens === 1) {
    const rows = await model.logits([prompt]);
    const last = rows.data.subarray(rows.data.length - model.config.vocabSize);
    const token = new Sampler(request.sampling).sample(last, prompt);
    if (model.stopTokenIds().includes(token))
      return { ids: [], text: '', finishReason: 'stop', stopToken: token, rows };
    return { ...cutAtStops(model, [token], request.stop, 'length'), rows };
  }
  const ids: number[] = [];
  const generator = model.generate(prompt, {
    ...request.sampling,
    maxTokens: Math.max(1, Math.min(request.maxTokens, room)),
    signal: request.signal,
  });
  let next = await generator.next();
  for (; !next.done; next = await generator.next()) ids.push(next.value);
  return cutAtStops(model, ids, request.stop, next.value.finishReason);
}

/** The text of `ids`, and both cut where the first stop string begins. */
function cutAtStops(
  model: CausalLM,
  ids: number[],
  stop: readonly string[],
  finishReason: 'stop' | 'length',
): Generated {
  const tokenizer = model.tokenizer!;
  const stream = new TokenTextStream(tokenizer, { skipSpecialTokens: true });
  const starts = ids.map(() => 0);
  let text = '';
  ids.forEach((id, i) => {
    starts[i] = text.length;
    text += stream.push(id);
  });
  text += stream.flush();
  const cuts = stop.map((s) => text.indexOf(s)).filter((at) => at >= 0);
  if (cuts.length > 0) {
    const cut = Math.min(...cuts);
    const dropped = starts.findIndex((start) => start >= cut);
    if (dropped >= 0) ids.splice(dropped);
    return { ids, text: text.slice(0, cut), finishReason: 'stop', cut };
  }
  return { ids, text, finishReason };
}

/** The log-softmax of `token` in a logits row and the row's `k` most likely tokens. */
export function positionScores(
  row: Float32Array,
  token: number,
  k: number,
  name: (id: number) => string,
): { logprob: number; top: Record<string, number> } {
  let max = -Infinity;
  for (let v = 0; v < row.length; v++) if (row[v] > max) max = row[v];
  let sum = 0;
  for (let v = 0; v < row.length; v++) sum += Math.exp(row[v] - max);
  const norm = max + Math.log(sum);
  const best: number[] = [];
  for (let v = 0; v < row.length && k > 0; v++) {
    if (best.length < k || row[v] > row[best[best.length - 1]]) {
      best.push(v);
      best.sort((a, b) => row[b] - row[a] || a - b);
      if (best.length > k) best.pop();
    }
  }
  const top: Record<string, number> = {};
  for (const v of best) {
    const key = name(v);
    if (!(key in top)) top[key] = row[v] - norm;
  }
  return { logprob: row[token] - norm, top };
}
