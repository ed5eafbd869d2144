import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile, hashValue } from '../core/hash.ts';
import { loadModel, type CausalLM, type LoadModelOptions } from '../model/causal-lm.ts';
import type { Harness } from './harness.ts';
import type { EvalModel } from './run.ts';
import type {
  ChatGenerator,
  ChatMessage,
  LoglikRequest,
  LoglikResult,
  LoglikScorer,
} from './types.ts';

/**
 * How text becomes ids under a harness: `lm-eval` uses the tokenizer's default BOS (lm-eval's
 * HFLM since v0.4.10, `add_bos_token=None`); `workbench` adds no special tokens.
 */
export function textEncoder(model: CausalLM, harness: Harness): (text: string) => number[] {
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new Error('the model has no tokenizer (tokenizer.json)');
  const bos = harness === 'lm-eval' && tokenizer.addsBos ? [tokenizer.bosTokenId!] : [];
  return (text) => [...bos, ...tokenizer.encode(text, { addSpecialTokens: false })];
}

/**
 * Splits a request into token ids as lm-evaluation-harness does: trailing spaces of the
 * context move to the continuation, the pair is encoded whole, and the continuation is what
 * the whole has beyond the context's own tokens. Special tokens follow `harness` (see
 * {@link textEncoder}); an empty context starts from BOS (or EOS).
 */
export function encodePair(
  model: CausalLM,
  request: LoglikRequest,
  harness: Harness = 'workbench',
): { prompt: number[]; completion: number[] } {
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new Error('the model has no tokenizer (tokenizer.json)');
  const encode = textEncoder(model, harness);
  const trimmed = request.context.replace(/\s+$/, '');
  const continuation = request.context.slice(trimmed.length) + request.continuation;
  const whole = encode(trimmed + continuation);
  const context = encode(trimmed);
  const start = tokenizer.bosTokenId ?? tokenizer.eosTokenId ?? model.stopTokenIds()[0] ?? 0;
  let prompt = context.length > 0 ? context : [start];
  let completion = whole.slice(context.length);
  if (completion.length === 0) {
    // The continuation merged into the context's last token: score that token instead.
    prompt = whole.length > 1 ? whole.slice(0, -1) : [start];
    completion = whole.slice(-1);
  }
  // Over-long inputs lose their oldest tokens, as the harness truncates from the left.
  const room = model.config.maxPositions + 1 - completion.length;
  if (completion.length > model.config.maxPositions) {
    completion = completion.slice(0, model.config.maxPositions);
    prompt = prompt.slice(-1);
  } else if (prompt.length > room) {
    prompt = prompt.slice(prompt.length - room);
  }
  return { prompt, completion };
}

/**
 * A {@link LoglikScorer} over a loaded model. Multiple-choice requests usually share one
 * context and differ in a one-token continuation (` A`..` D`): those are read off a single
 * forward's last logits row (the head runs there only) instead of one forward per option.
 * Everything else goes through the model's `sequenceLogprobs`, which also runs a shared prompt once.
 */
export function modelScorer(model: CausalLM, harness: Harness = 'workbench'): LoglikScorer {
  return {
    async loglikelihood(requests, signal): Promise<LoglikResult[]> {
      const pairs = requests.map((r) => encodePair(model, r, harness));
      const results: LoglikResult[] = new Array(requests.length);
      const shared = new Map<string, number[]>();
      const rest: number[] = [];
      pairs.forEach((pair, i) => {
        if (pair.completion.length !== 1) return rest.push(i);
        const key = pair.prompt.join(',');
        shared.set(key, [...(shared.get(key) ?? []), i]);
      });
      for (const indices of shared.values()) {
        if (indices.length === 1) {
          rest.push(indices[0]);
          continue;
        }
        if (signal?.aborted) throw signal.reason;
        const lastRow = await model.nextTokenLogits(pairs[indices[0]].prompt);
        for (const i of indices) results[i] = tokenScore(lastRow, pairs[i].completion[0]);
      }
      const scored = await model.sequenceLogprobs(
        rest.map((i) => pairs[i]),
        { signal },
      );
      rest.forEach((i, k) => {
        results[i] = {
          logprob: scored[k].sum,
          tokens: scored[k].count,
          isGreedy: scored[k].greedy,
        };
      });
      return results;
    },
  };
}

/** The log-softmax of `token` in a logits row, and whether it is the row's argmax. */
export function tokenScore(row: Float32Array, token: number): LoglikResult {
  let max = -Infinity;
  let best = 0;
  for (let v = 0; v < row.length; v++) {
    if (row[v] > max) {
      max = row[v];
      best = v;
    }
  }
  let sum = 0;
  for (let v = 0; v < row.length; v++) sum += Math.exp(row[v] - max);
  return { logprob: row[token] - max - Math.log(sum), tokens: 1, isGreedy: best === token };
}

/**
 * A {@link ChatGenerator} over a loaded model: the conversation rendered by the tokenizer's
 * chat template, greedy decoding, rows batched together. A prompt too long for the context
 * keeps its last tokens and leaves room for `maxTokens`, as the harness does. Stop strings
 * cut the reply where they first appear. A plain-text `prompt` is encoded as is, with the
 * special tokens of `harness`.
 */
export function modelGenerator(model: CausalLM, harness: Harness = 'workbench'): ChatGenerator {
  return {
    async generate(requests, signal): Promise<string[]> {
      const tokenizer = model.tokenizer;
      if (!tokenizer) throw new Error('the model has no tokenizer (tokenizer.json)');
      const context = model.config.maxPositions;
      const byBudget = new Map<number, number[]>();
      requests.forEach((r, i) =>
        byBudget.set(r.maxTokens, [...(byBudget.get(r.maxTokens) ?? []), i]),
      );
      const replies: string[] = new Array(requests.length);
      for (const [maxTokens, indices] of byBudget) {
        const keep = Math.max(1, context - Math.min(maxTokens, context - 1));
        const prompts = indices.map((i) => {
          const { prompt, messages } = requests[i];
          const ids =
            prompt === undefined
              ? tokenizer.encodeChat(messages, { addGenerationPrompt: true })
              : textEncoder(model, harness)(prompt);
          return ids.slice(-keep);
        });
        const generated = await model.generateBatch(prompts, { maxTokens, signal });
        indices.forEach((requestIndex, row) => {
          const text = tokenizer.decode(generated[row].tokens, { skipSpecialTokens: true });
          replies[requestIndex] = cutAtStop(text, requests[requestIndex].stop ?? []);
        });
      }
      return replies;
    },
  };
}

/** `text` up to the first of `stops` (all of it when none occurs). */
export function cutAtStop(text: string, stops: readonly string[]): string {
  const cuts = stops.map((s) => (s === '' ? -1 : text.indexOf(s))).filter((at) => at >= 0);
  return cuts.length === 0 ? text : text.slice(0, Math.min(...cuts));
}

const MODEL_FILES =
  /^(config\.json|.*\.safetensors|tokenizer\.json|tokenizer_config\.json|chat_template\.jinja|adapter_config\.json)$/;

/**
 * The content key of a model folder: a checkpoint artifact's own key when the folder is one
 * (its `meta.json` names it), else a hash of the files that decide its outputs.
 */
export async function modelKey(dir: string): Promise<string> {
  const metaPath = join(dir, 'meta.json');
  if (existsSync(metaPath)) {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as { kind?: string; key?: string };
    if (meta.kind && meta.key) return `${meta.kind}:${meta.key}`;
  }
  const names = (await readdir(dir)).filter((n) => MODEL_FILES.test(n)).sort();
  const hashes = await Promise.all(names.map((n) => hashFile(join(dir, n))));
  return `model:${hashValue(names.map((n, i) => [n, hashes[i]])).slice(0, 32)}`;
}

/**
 * The model's chat template as a renderer that opens the assistant's turn, or undefined for a
 * model without a tokenizer or template (chat log-likelihood scoring needs one).
 */
export function chatTemplateOf(
  model: CausalLM,
): ((messages: readonly ChatMessage[]) => string) | undefined {
  const tokenizer = model.tokenizer;
  if (!tokenizer?.hasChatTemplate) return undefined;
  return (messages) => tokenizer.applyChatTemplate([...messages], { addGenerationPrompt: true });
}

/**
 * A model folder ready for evaluation in both modes, tokenizing by `harness`'s BOS rule; call
 * `dispose` when done.
 */
export async function loadEvalModel(
  dir: string,
  options: LoadModelOptions = {},
  harness: Harness = 'workbench',
): Promise<EvalModel & { model: CausalLM; dispose(): Promise<void> }> {
  const model = await loadModel(dir, options);
  return {
    key: await modelKey(dir),
    model,
    harness,
    scorer: modelScorer(model, harness),
    generator: modelGenerator(model, harness),
    chatTemplate: chatTemplateOf(model),
    dispose: () => model.dispose(),
  };
}
