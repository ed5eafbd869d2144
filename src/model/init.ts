import { InputError } from '../core/errors.ts';
import { readLines } from '../core/lines.ts';
import type { ProgressSink } from '../core/progress.ts';
import { Rng } from '../core/rng.ts';
import { ParamSet } from '../engine/index.ts';
import { CausalLM } from './causal-lm.ts';
import type { ModelConfig } from './config.ts';
import { decoderParamSpecs } from './param-layout.ts';
import { trainChatTokenizer } from './train-tokenizer.ts';

/** The built-in model sizes. */
export const MODEL_PRESETS = ['tiny', 'demo'] as const;

/** A built-in model size: `tiny` (~0.9M parameters, seconds; tests and CI), `demo` (~6M, trains in minutes on 2 cores). */
export type ModelPreset = (typeof MODEL_PRESETS)[number];

const SHAPES: Record<
  ModelPreset,
  {
    vocab: number;
    d: number;
    layers: number;
    heads: number;
    kvHeads: number;
    ffn: number;
    context: number;
  }
> = {
  tiny: { vocab: 512, d: 128, layers: 4, heads: 4, kvHeads: 2, ffn: 384, context: 512 },
  demo: { vocab: 4096, d: 256, layers: 6, heads: 8, kvHeads: 4, ffn: 768, context: 512 },
};

/** The special token ids of the trained ChatML tokenizer: end of turn, end of document, padding. */
const chatMlTokenIds = (): Pick<ModelConfig, 'eosTokenIds' | 'padTokenId'> => ({
  eosTokenIds: [2, 0],
  padTokenId: 0,
});

/**
 * The configuration of a preset: a Qwen2-style decoder (q/k/v biases, grouped-query
 * attention, tied embeddings) with the ChatML special tokens of the trained tokenizer:
 * `<|endoftext|>` = 0 (padding, end of document), `<|im_end|>` = 2 (end of turn).
 */
export function presetConfig(preset: ModelPreset, vocabSize = SHAPES[preset].vocab): ModelConfig {
  const s = SHAPES[preset];
  return {
    modelType: 'qwen2',
    vocabSize,
    hiddenSize: s.d,
    intermediateSize: s.ffn,
    numLayers: s.layers,
    numHeads: s.heads,
    numKvHeads: s.kvHeads,
    headDim: s.d / s.heads,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    maxPositions: s.context,
    tieWordEmbeddings: true,
    qkvBias: true,
    outputBias: false,
    mlpBias: false,
    ...chatMlTokenIds(),
  };
}

/**
 * Hugging Face's initialisation for Llama/Qwen2: linear and embedding weights ~ N(0, 0.02),
 * biases 0, RMSNorm weights 1. Each tensor draws from its own stream (forked by name), so
 * a tensor's values do not depend on which other tensors exist.
 */
export function initParams(config: ModelConfig, seed: number, std = 0.02): ParamSet {
  const params = new ParamSet(decoderParamSpecs(config));
  const rng = new Rng(seed);
  for (const { name } of params.entries) {
    if (name.endsWith('norm.weight')) params.fill(name, 1);
    else if (name.endsWith('.bias')) params.fill(name, 0);
    else fillNormal(rng.fork(name), params.view(name), std);
  }
  return params;
}

/** One xoshiro128** step on a state held in an Int32Array: {@link Rng.uint32} without its method and field overhead. */
function nextUint32(st: Int32Array): number {
  const s0 = st[0];
  const s1 = st[1];
  const m = Math.imul(s1, 5);
  const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
  const t = s1 << 9;
  const s2 = st[2] ^ s0;
  const s3 = st[3] ^ s1;
  st[1] = s1 ^ s2;
  st[0] = s0 ^ s3;
  st[2] = s2 ^ t;
  st[3] = (s3 << 11) | (s3 >>> 21);
  return result;
}

/**
 * `rng.fillNormal(out, std)` bit for bit, about twice as fast: the same xoshiro128** words and
 * Box-Muller arithmetic in one loop over local state, written back to `rng` at the end (a
 * pending second value included), so the stream continues exactly as the method would leave
 * it. Initialising a 0.5B model is ~500M draws, which dominated `init-model --config`.
 */
export function fillNormal(rng: Rng, out: Float32Array, std: number): void {
  const state = rng.getState();
  const st = new Int32Array(state.s);
  let spare = state.spareNormal;
  const n = out.length;
  let i = 0;
  // `0 + x` as the method's `mean + std * x` with mean 0: it turns -0 into +0 the same way.
  if (spare !== undefined && n > 0) {
    out[i++] = 0 + std * spare;
    spare = undefined;
  }
  const random53 = () =>
    ((nextUint32(st) >>> 5) * 67108864 + (nextUint32(st) >>> 6)) / 9007199254740992;
  while (i < n) {
    let u = 0;
    while (u === 0) u = random53();
    const v = random53();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i++] = 0 + std * (r * Math.cos(2 * Math.PI * v));
    const second = r * Math.sin(2 * Math.PI * v);
    if (i < n) out[i++] = 0 + std * second;
    else spare = second;
  }
  rng.setState({ s: [...st], spareNormal: spare });
}

/** Options for {@link createModel}. */
export interface CreateModelOptions {
  /** The size. */
  preset: ModelPreset;
  /** Seed of the weights (default 0). */
  seed?: number;
  /** Text the tokenizer is trained on. */
  texts: Iterable<string>;
  /** Receives tokenizer-training progress. */
  onProgress?: ProgressSink;
  /** Stops tokenizer training. */
  signal?: AbortSignal;
}

/**
 * A randomly initialised model of a preset with a byte-level BPE tokenizer trained on
 * `texts`. The vocabulary is the tokenizer's, rounded up to a multiple of 64.
 */
export function createModel(options: CreateModelOptions): CausalLM {
  const shape = SHAPES[options.preset];
  const tokenizer = trainChatTokenizer(options.texts, {
    vocabSize: shape.vocab,
    modelMaxLength: shape.context,
    onProgress: options.onProgress,
    signal: options.signal,
  });
  const config = presetConfig(options.preset, Math.ceil(tokenizer.vocabSize / 64) * 64);
  return new CausalLM(config, initParams(config, options.seed ?? 0), tokenizer);
}

/**
 * A randomly initialised model of a given architecture (e.g. a Hugging Face `config.json`)
 * with a byte-level BPE tokenizer trained on `texts` to at most `config.vocabSize` tokens.
 * The token ids are the tokenizer's ChatML ones (any BOS/EOS/pad ids in `config` are replaced).
 */
export function createModelFromConfig(
  config: ModelConfig,
  options: Omit<CreateModelOptions, 'preset'> & { std?: number },
): CausalLM {
  const tokenizer = trainChatTokenizer(options.texts, {
    vocabSize: config.vocabSize,
    modelMaxLength: config.maxPositions,
    onProgress: options.onProgress,
    signal: options.signal,
  });
  // The tokenizer defines the special ids; a BOS id from another vocabulary would be wrong.
  const { bosTokenId: _bos, ...architecture } = config;
  const withIds: ModelConfig = { ...architecture, ...chatMlTokenIds() };
  return new CausalLM(withIds, initParams(withIds, options.seed ?? 0, options.std), tokenizer);
}

/**
 * Reads training text: a JSONL file (one object per line; `field`, default `text`, holds the
 * text) or, for any other extension, a plain text file split at blank lines.
 */
export async function readCorpus(path: string, field = 'text'): Promise<string[]> {
  const texts: string[] = [];
  const jsonl = /\.jsonl$/i.test(path);
  let paragraph: string[] = [];
  for await (const { line: lineNo, text: line, error: tooLong } of readLines(path)) {
    if (tooLong !== undefined) throw new InputError(tooLong, { file: path, line: lineNo });
    if (!jsonl) {
      if (line.trim() === '') {
        if (paragraph.length) texts.push(paragraph.join('\n'));
        paragraph = [];
      } else {
        paragraph.push(line);
      }
      continue;
    }
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new InputError(`not valid JSON (${(error as Error).message})`, {
        file: path,
        line: lineNo,
      });
    }
    const text = (record as Record<string, unknown> | null)?.[field];
    if (typeof text !== 'string') {
      throw new InputError(`expected a string field "${field}"`, {
        file: path,
        line: lineNo,
        field,
      });
    }
    texts.push(text);
  }
  if (paragraph.length) texts.push(paragraph.join('\n'));
  if (texts.length === 0) throw new InputError('the corpus has no text', { file: path });
  return texts;
}
