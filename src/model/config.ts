import { InputError } from '../core/errors.ts';
import { readJsonObject } from './json-file.ts';

/** The decoder families this layer computes exactly. */
export const MODEL_TYPES = ['llama', 'qwen2', 'mistral'] as const;

/** A supported Hugging Face `model_type`. */
export type ModelType = (typeof MODEL_TYPES)[number];

/** Llama 3 rotary frequency scaling (`rope_scaling.rope_type: "llama3"`). */
export interface Llama3RopeScaling {
  /** Always `llama3`. */
  type: 'llama3';
  /** How much longer the context is than the original. */
  factor: number;
  /** Wavelengths longer than `original / low_freq_factor` are divided by `factor`. */
  lowFreqFactor: number;
  /** Wavelengths shorter than `original / high_freq_factor` are kept. */
  highFreqFactor: number;
  /** The context length the base frequencies were trained for. */
  originalMaxPositions: number;
}

/** A validated decoder configuration, with every default resolved. */
export interface ModelConfig {
  /** The family; decides which projections carry biases by default. */
  modelType: ModelType;
  /** Rows of the embedding and output head. */
  vocabSize: number;
  /** Width of the residual stream. */
  hiddenSize: number;
  /** Width of the SwiGLU MLP's inner layer. */
  intermediateSize: number;
  /** Decoder blocks. */
  numLayers: number;
  /** Query heads. */
  numHeads: number;
  /** Key/value heads (grouped-query attention when fewer than `numHeads`). */
  numKvHeads: number;
  /** Width of one attention head. */
  headDim: number;
  /** RMSNorm epsilon. */
  rmsNormEps: number;
  /** Rotary base frequency. */
  ropeTheta: number;
  /** Rotary frequency scaling, when the checkpoint uses it. */
  ropeScaling?: Llama3RopeScaling;
  /** The longest sequence (prompt + generated) the model accepts. */
  maxPositions: number;
  /** The output head reuses the embedding matrix. */
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry biases (always for Qwen2; `attention_bias` for Llama). */
  qkvBias: boolean;
  /** The attention output projection carries a bias (`attention_bias` for Llama). */
  outputBias: boolean;
  /** gate/up/down projections carry biases (`mlp_bias` for Llama). */
  mlpBias: boolean;
  /** Beginning-of-sequence token, if the model has one. */
  bosTokenId?: number;
  /** Tokens that end generation. */
  eosTokenIds: number[];
  /** Padding token, if declared. */
  padTokenId?: number;
}

type Json = Record<string, unknown>;

/**
 * Upper bounds of the size fields, checked before anything is allocated. Each is several times
 * what the largest Llama/Qwen2/Mistral releases use (Llama 3.1 405B: hidden 16384, 126 layers,
 * 128 heads, intermediate 53248; vocabularies up to ~256k; contexts up to 1M), so real models
 * pass and typos or hostile values (1e9 layers) fail with the field named.
 */
export const LIMITS = {
  vocab_size: 4_194_304,
  hidden_size: 65_536,
  intermediate_size: 262_144,
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  head_dim: 16_384,
  max_position_embeddings: 16_777_216,
} as const;

/**
 * The largest parameter count a config may describe, checked before allocating: above every
 * dense release (Llama 3.1 405B), far below what the size limits together allow (~10^16).
 */
export const MAX_PARAMETERS = 1e12;

/** A JSON value in a message; numbers as JavaScript prints them (`1e999` reads as Infinity). */
function show(v: unknown): string {
  return typeof v === 'number' ? String(v) : JSON.stringify(v);
}

/** `494M`, `8.03B`, `1T`: a parameter count for messages. */
export function formatCount(n: number): string {
  if (n >= 1e12) return `${Number((n / 1e12).toPrecision(3))}T`;
  if (n >= 1e9) return `${Number((n / 1e9).toPrecision(3))}B`;
  if (n >= 1e6) return `${Number((n / 1e6).toPrecision(3))}M`;
  return n.toLocaleString('en-US');
}

/** Reads and validates `config.json`; every error names the file and field. */
export async function readModelConfig(path: string): Promise<{ config: ModelConfig; raw: Json }> {
  const raw = await readJsonObject(path);
  return { config: parseModelConfig(raw, path), raw };
}

/**
 * Validates a Hugging Face `config.json` object. Fields that change the computation and that
 * this implementation cannot honour are errors naming the field; fields that do not (dtype,
 * architectures, initializer_range...) are ignored so that Hub configs load as they are.
 */
export function parseModelConfig(raw: Json, file?: string): ModelConfig {
  const fail = (field: string, reason: string): never => {
    throw new InputError(reason, { file, field });
  };
  const modelType = raw.model_type;
  if (typeof modelType !== 'string' || !(MODEL_TYPES as readonly string[]).includes(modelType)) {
    fail(
      'model_type',
      `unsupported model_type ${JSON.stringify(modelType)} (supported: ${MODEL_TYPES.join(', ')})`,
    );
  }
  const type = modelType as ModelType;
  const int = (field: string, max: number, fallback?: number): number => {
    const v = raw[field] ?? fallback;
    if (v === undefined) return fail(field, 'is required');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
      return fail(field, `${show(v)} is not a whole number between 1 and ${max}`);
    }
    return v;
  };
  const num = (field: string, fallback: number, below = Infinity): number => {
    const v = raw[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v >= below) {
      const range = below === Infinity ? 'a positive finite number' : `a number in (0, ${below})`;
      return fail(field, `${show(v)} is not ${range}`);
    }
    return v;
  };
  const bool = (field: string, fallback: boolean): boolean => {
    const v = raw[field] ?? fallback;
    if (typeof v !== 'boolean')
      return fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };

  const act = raw.hidden_act ?? raw.hidden_activation ?? 'silu';
  if (act !== 'silu' && act !== 'swish')
    fail('hidden_act', `unsupported activation ${JSON.stringify(act)} (only silu)`);
  if (type === 'qwen2' && bool('use_sliding_window', false)) {
    fail('use_sliding_window', 'sliding-window attention is not implemented; set it to false');
  }
  const window = raw.sliding_window;
  const maxPositions = int('max_position_embeddings', LIMITS.max_position_embeddings, 2048);
  // A window at least as long as the context never masks anything, so such configs compute exactly.
  if (type === 'mistral' && typeof window === 'number' && window < maxPositions) {
    fail('sliding_window', 'sliding-window attention is not implemented; set it to null');
  }
  if (raw.pretraining_tp !== undefined && raw.pretraining_tp !== 1) {
    fail('pretraining_tp', 'only 1 is supported');
  }

  const hiddenSize = int('hidden_size', LIMITS.hidden_size);
  const numHeads = int('num_attention_heads', LIMITS.num_attention_heads);
  const numKvHeads = int('num_key_value_heads', LIMITS.num_attention_heads, numHeads);
  if (numHeads % numKvHeads !== 0) {
    fail('num_key_value_heads', `${numKvHeads} does not divide num_attention_heads ${numHeads}`);
  }
  const derived = raw.head_dim === undefined || raw.head_dim === null;
  if (derived && hiddenSize % numHeads !== 0) {
    fail('hidden_size', `${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  }
  const headDim = derived ? hiddenSize / numHeads : int('head_dim', LIMITS.head_dim);
  if (headDim % 2 !== 0) fail('head_dim', `must be even for rotary embeddings, got ${headDim}`);

  const attentionBias = bool('attention_bias', false);
  const config: ModelConfig = {
    modelType: type,
    vocabSize: int('vocab_size', LIMITS.vocab_size),
    hiddenSize,
    intermediateSize: int('intermediate_size', LIMITS.intermediate_size),
    numLayers: int('num_hidden_layers', LIMITS.num_hidden_layers),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num('rms_norm_eps', 1e-6, 1),
    ropeTheta: num('rope_theta', 10000),
    maxPositions,
    tieWordEmbeddings: bool('tie_word_embeddings', false),
    qkvBias: type === 'qwen2' ? true : attentionBias,
    outputBias: type === 'qwen2' ? false : attentionBias,
    mlpBias: type === 'llama' ? bool('mlp_bias', false) : false,
    eosTokenIds: tokenIds(raw.eos_token_id, 'eos_token_id', fail),
  };
  const bos = tokenIds(raw.bos_token_id, 'bos_token_id', fail);
  if (bos.length > 0) config.bosTokenId = bos[0];
  const pad = tokenIds(raw.pad_token_id, 'pad_token_id', fail);
  if (pad.length > 0) config.padTokenId = pad[0];
  const scaling = parseRopeScaling(raw.rope_scaling, config.maxPositions, fail);
  if (scaling) config.ropeScaling = scaling;
  const params = parameterCount(config);
  if (params > MAX_PARAMETERS) {
    throw new InputError(
      `describes ${formatCount(params)} parameters, over the ${formatCount(MAX_PARAMETERS)} limit (check num_hidden_layers, hidden_size, intermediate_size and vocab_size)`,
      { file },
    );
  }
  return config;
}

function tokenIds(
  v: unknown,
  field: string,
  fail: (field: string, reason: string) => never,
): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      fail(field, `must be a token id or a list of ids, got ${JSON.stringify(v)}`);
    }
  }
  return list as number[];
}

function parseRopeScaling(
  v: unknown,
  maxPositions: number,
  fail: (field: string, reason: string) => never,
): Llama3RopeScaling | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    return fail('rope_scaling', 'must be an object or null');
  const s = v as Json;
  const type = s.rope_type ?? s.type;
  if (type === 'default') return undefined;
  if (type !== 'llama3') {
    return fail(
      'rope_scaling.rope_type',
      `unsupported rope scaling ${JSON.stringify(type)} (supported: llama3, default)`,
    );
  }
  const positive = (field: string, fallback?: number): number => {
    const x = s[field] ?? fallback;
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) {
      return fail(`rope_scaling.${field}`, `must be a positive number, got ${JSON.stringify(x)}`);
    }
    return x;
  };
  const scaling: Llama3RopeScaling = {
    type: 'llama3',
    factor: positive('factor'),
    lowFreqFactor: positive('low_freq_factor', 1),
    highFreqFactor: positive('high_freq_factor', 4),
    originalMaxPositions: positive('original_max_position_embeddings', maxPositions),
  };
  if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
    fail('rope_scaling.high_freq_factor', 'must be greater than low_freq_factor');
  }
  return scaling;
}

/** The `config.json` object for a configuration, in Hugging Face's field names. */
export function modelConfigToJson(config: ModelConfig): Json {
  const architectures: Record<ModelType, string> = {
    llama: 'LlamaForCausalLM',
    qwen2: 'Qwen2ForCausalLM',
    mistral: 'MistralForCausalLM',
  };
  const json: Json = {
    architectures: [architectures[config.modelType]],
    model_type: config.modelType,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    hidden_act: 'silu',
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeTheta,
    rope_scaling: config.ropeScaling
      ? {
          rope_type: 'llama3',
          factor: config.ropeScaling.factor,
          low_freq_factor: config.ropeScaling.lowFreqFactor,
          high_freq_factor: config.ropeScaling.highFreqFactor,
          original_max_position_embeddings: config.ropeScaling.originalMaxPositions,
        }
      : null,
    max_position_embeddings: config.maxPositions,
    tie_word_embeddings: config.tieWordEmbeddings,
    bos_token_id: config.bosTokenId ?? null,
    eos_token_id:
      config.eosTokenIds.length === 1
        ? config.eosTokenIds[0]
        : config.eosTokenIds.length
          ? config.eosTokenIds
          : null,
    pad_token_id: config.padTokenId ?? null,
    torch_dtype: 'float32',
    initializer_range: 0.02,
    use_cache: true,
  };
  if (config.modelType === 'llama') {
    json.attention_bias = config.qkvBias;
    json.mlp_bias = config.mlpBias;
  }
  if (config.modelType === 'qwen2') json.use_sliding_window = false;
  if (config.modelType === 'mistral') json.sliding_window = null;
  return json;
}

/** Parameter count of a configuration (the tied head counted once). */
export function parameterCount(config: ModelConfig): number {
  const { hiddenSize: d, intermediateSize: f, numHeads, numKvHeads, headDim } = config;
  const q = numHeads * headDim;
  const kv = numKvHeads * headDim;
  const attention =
    d * q + 2 * d * kv + q * d + (config.qkvBias ? q + 2 * kv : 0) + (config.outputBias ? d : 0);
  const mlp = 3 * d * f + (config.mlpBias ? 2 * f + d : 0);
  const perLayer = attention + mlp + 2 * d;
  const embed = config.vocabSize * d;
  return embed + config.numLayers * perLayer + d + (config.tieWordEmbeddings ? 0 : embed);
}

/**
 * Builds a model through `build`, turning an allocation failure (V8's RangeError "Invalid typed
 * array length" or "Array buffer allocation failed") into an InputError naming `where`, the
 * folder or config file, with the memory the weights need.
 */
export async function withAllocationCheck<T>(
  config: ModelConfig,
  where: string,
  build: () => T | Promise<T>,
): Promise<T> {
  try {
    return await build();
  } catch (error) {
    if (!(error instanceof RangeError) || !/array|allocat/i.test(error.message)) throw error;
    const params = parameterCount(config);
    const gb = ((params * 4) / 2 ** 30).toFixed(1);
    throw new InputError(
      `cannot allocate the weights of ${formatCount(params)} parameters (${gb} GiB as float32): ${error.message}`,
      { file: where },
      { cause: error },
    );
  }
}
