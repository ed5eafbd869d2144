import {
  add,
  applyRotary,
  attentionBias,
  concat,
  constantOfShape,
  crossEntropy,
  declareLinear,
  dimOf,
  embedding,
  expand,
  gemm,
  equal,
  gather,
  END,
  linear,
  matmul,
  mergeHeads,
  mul,
  neg,
  range,
  reshape,
  rmsNorm,
  silu,
  sizes,
  slice,
  softmax,
  splitHeads,
  squeeze,
  unsqueeze,
  shape,
  type Graph,
  type Tensor,
} from '../engine/index.ts';
import type { ModelConfig } from './config.ts';
import { groupedQueryAttention, rmsNormalization, rotaryEmbedding } from './inference-ops.ts';
import type { LoraGraphSpec } from './param-layout.ts';
import { rotaryAngles, rotaryTables } from './rope.ts';

/** A layer's attention keys and values `[B, kvHeads, S, headDim]`. */
export interface KeyValue {
  /** Rotated keys. */
  key: Tensor;
  /** Values. */
  value: Tensor;
}

/** The data inputs of a decoder forward. */
export interface DecoderInputs {
  /** Token ids, int64 `[B, T]`. */
  inputIds: Tensor;
  /** 1 for real tokens, 0 for padding, over all keys (past + new): `[B, P+T]`. Default: all real. */
  attentionMask?: Tensor;
  /** int64 positions `[B, T]` (left-padded batches need them). Default: `P .. P+T-1`. */
  positionIds?: Tensor;
  /** Cached keys/values of earlier positions, one per layer (generation). */
  past?: KeyValue[];
}

/** How to build a decoder forward. */
export interface DecoderOptions {
  /** Whether the base weights are trainable (default true; false for LoRA or a reference model). */
  trainableBase?: boolean;
  /** LoRA adapters to add (always trainable). */
  lora?: LoraGraphSpec;
  /** A training graph: LoRA dropout is applied (seeded by `dropoutSeed`). */
  training?: boolean;
  /** Seed of the LoRA dropout masks (default 0). */
  dropoutSeed?: number;
  /** Which positions get logits: all (default), only the last (generation), or none. */
  logits?: 'all' | 'last' | 'none';
  /**
   * Use single-node ONNX RMSNormalization, RotaryEmbedding and Attention (inference only: they
   * have no gradient rules). Default false.
   */
  fused?: boolean;
}

/** What a decoder forward produces. */
export interface DecoderOutputs {
  /** Final normed hidden states `[B, T, hidden]`. */
  hidden: Tensor;
  /** `[B, T, V]` (or `[B, 1, V]` for `last`); absent for `none`. */
  logits?: Tensor;
  /** Every layer's keys/values including the new positions: the next step's `past`. */
  presents: KeyValue[];
}

/**
 * Adds a Llama/Qwen2 decoder forward to `g`, declaring its parameters under Hugging Face
 * names: embeddings, per layer RMSNorm -> grouped-query attention with rotary positions
 * (q/k/v/o biases as configured) -> residual -> RMSNorm -> SwiGLU MLP -> residual, a final
 * RMSNorm and the (tied or untied) output head.
 */
export function buildDecoder(
  g: Graph,
  config: ModelConfig,
  inputs: DecoderInputs,
  options: DecoderOptions = {},
): DecoderOutputs {
  const trainable = options.trainableBase ?? true;
  const param = (name: string, shape: number[]): Tensor => g.param(name, shape, { trainable });
  const { hiddenSize: d, numHeads: heads, numKvHeads: kvHeads, headDim, rmsNormEps: eps } = config;
  const ids = inputs.inputIds;
  const past = inputs.past;
  if (past && past.length !== config.numLayers) {
    throw new Error(`buildDecoder: ${past.length} past key/values for ${config.numLayers} layers`);
  }
  const queryLength = dimOf(ids, 1);
  const pastLength = past ? dimOf(past[0].key, 2) : undefined;
  const keyLength = pastLength ? add(pastLength, queryLength) : queryLength;
  const fused = options.fused ?? false;
  const positions = inputs.positionIds ?? defaultPositions(queryLength, pastLength);
  const rotary = fused ? undefined : rotaryTables(config, positions);
  const angles = fused ? rotaryAngles(config, expand(positions, shape(ids))) : undefined;
  // A static length without a cache gives a constant causal mask.
  const staticLength = typeof ids.shape[1] === 'number' && !past ? ids.shape[1] : undefined;
  const bias = attentionBias(g, staticLength ?? queryLength, staticLength ?? keyLength, {
    causal: true,
    keyMask: inputs.attentionMask,
  })!;
  // Query heads of one KV group are stacked along the time axis, so the bias repeats per head.
  const groups = heads / kvHeads;
  const groupBias = fused || groups === 1 ? bias : concat(Array<Tensor>(groups).fill(bias), 2);
  const norm = (x: Tensor, name: string): Tensor => {
    const weight = param(name, [d]);
    return fused ? rmsNormalization(x, weight, eps) : rmsNorm(x, weight, eps);
  };

  let adapters = 0;
  const project = (
    x: Tensor,
    path: string,
    inF: number,
    outF: number,
    withBias: boolean,
  ): Tensor => {
    const y = linear(x, declareLinear(g, path, inF, outF, { bias: withBias, trainable }));
    const adapter = options.lora?.modules.get(path);
    if (!adapter) return y;
    const a = g.param(`${path}.lora_A.weight`, [adapter.rank, inF]);
    const b = g.param(`${path}.lora_B.weight`, [outF, adapter.rank]);
    const dropout = options.training ? (options.lora?.dropout ?? 0) : 0;
    const input =
      dropout > 0 ? dropoutOf(x, dropout, (options.dropoutSeed ?? 0) * 7919 + adapters++) : x;
    return add(
      y,
      gemm(linear(input, { weight: a }), b, undefined, { transB: true, alpha: adapter.scale }),
    );
  };

  // The residual stream is kept 2-D `[B*T, hidden]` so every projection is one Gemm with the
  // weight as stored (transB, bias in the same pass) rather than a batched MatMul.
  const batch = dimOf(ids, 0);
  const shapes = new Map<number, Tensor>();
  const to3d = (t: Tensor, width: number): Tensor => {
    if (!shapes.has(width)) shapes.set(width, sizes([batch, queryLength, width]));
    return reshape(t, shapes.get(width)!);
  };
  const embed = param('model.embed_tokens.weight', [config.vocabSize, d]);
  let x = embedding(embed, reshape(ids, [-1]));
  const presents: KeyValue[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}`;
    const h = norm(x, `${p}.input_layernorm.weight`);
    const qWidth = heads * headDim;
    const kvWidth = kvHeads * headDim;
    const q = project(h, `${p}.self_attn.q_proj`, d, qWidth, config.qkvBias);
    const k = project(h, `${p}.self_attn.k_proj`, d, kvWidth, config.qkvBias);
    const v = project(h, `${p}.self_attn.v_proj`, d, kvWidth, config.qkvBias);
    let attended: Tensor;
    if (angles) {
      const result = groupedQueryAttention(
        g,
        rotaryEmbedding(to3d(q, qWidth), angles.cos, angles.sin, heads),
        rotaryEmbedding(to3d(k, kvWidth), angles.cos, angles.sin, kvHeads),
        to3d(v, kvWidth),
        bias,
        { heads, kvHeads, headDim, pastKey: past?.[i].key, pastValue: past?.[i].value },
      );
      presents.push({ key: result.presentKey, value: result.presentValue });
      attended = reshape(result.output, [-1, qWidth]);
    } else {
      let keys = applyRotary(splitHeads(to3d(k, kvWidth), kvHeads), rotary!);
      let values = splitHeads(to3d(v, kvWidth), kvHeads);
      if (past) {
        keys = concat([past[i].key, keys], 2);
        values = concat([past[i].value, values], 2);
      }
      presents.push({ key: keys, value: values });
      const queries = applyRotary(splitHeads(to3d(q, qWidth), heads), rotary!);
      attended = reshape(mergeHeads(groupedAttention(queries, keys, values, groupBias, config)), [
        -1,
        qWidth,
      ]);
    }
    x = add(x, project(attended, `${p}.self_attn.o_proj`, qWidth, d, config.outputBias));
    const h2 = norm(x, `${p}.post_attention_layernorm.weight`);
    const f = config.intermediateSize;
    const gate = project(h2, `${p}.mlp.gate_proj`, d, f, config.mlpBias);
    const up = project(h2, `${p}.mlp.up_proj`, d, f, config.mlpBias);
    x = add(x, project(mul(silu(gate), up), `${p}.mlp.down_proj`, f, d, config.mlpBias));
  }
  const normed = norm(x, 'model.norm.weight');
  const hidden = to3d(normed, d);
  const which = options.logits ?? 'all';
  if (which === 'none') return { hidden, presents };
  const V = config.vocabSize;
  const head = { weight: config.tieWordEmbeddings ? embed : param('lm_head.weight', [V, d]) };
  const logits =
    which === 'last'
      ? unsqueeze(linear(reshape(slice(hidden, [-1], [END], [1]), [-1, d]), head), [1])
      : to3d(linear(normed, head), V);
  return { hidden, logits, presents };
}

/**
 * Per-token log-probabilities `[B, T]` of `targets` (int64 `[B, T]`; -100 = ignored, giving 0)
 * under the decoder: the fused softmax cross-entropy, so no log-softmax tensor is kept.
 */
export function tokenLogprobs(
  g: Graph,
  config: ModelConfig,
  inputs: DecoderInputs,
  targets: Tensor,
  options: DecoderOptions = {},
): { logprobs: Tensor; logits: Tensor } {
  const { logits } = buildDecoder(g, config, inputs, { ...options, logits: 'all' });
  return { logprobs: neg(crossEntropy(logits!, targets, { reduction: 'none' })), logits: logits! };
}

/** `softmax(q kᵀ / sqrt(d) + bias) v` with each KV head shared by `heads / kvHeads` query heads. */
function groupedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor,
  config: ModelConfig,
): Tensor {
  const { numHeads: heads, numKvHeads: kvHeads, headDim } = config;
  // [B, H, T, D] -> [B, kvH, G*T, D]: heads of a group are adjacent, so this is a pure reshape
  // and K/V are never copied per query head.
  const grouped = heads === kvHeads ? q : reshape(q, [0, kvHeads, -1, headDim]);
  const scores = matmul(grouped, k, { transB: true, alpha: 1 / Math.sqrt(headDim) });
  const out = matmul(softmax(add(scores, bias), -1), v);
  return heads === kvHeads ? out : reshape(out, [0, heads, -1, headDim]);
}

function defaultPositions(queryLength: Tensor, pastLength: Tensor | undefined): Tensor {
  const start = pastLength ? squeeze(pastLength, [0]) : 0;
  const end = squeeze(pastLength ? add(pastLength, queryLength) : queryLength, [0]);
  return unsqueeze(range(start, end), [0]);
}

/**
 * Inverted dropout with ONNX Runtime's seeded generator: ONNX `Dropout` applied to ones gives
 * the scaled keep-mask, and multiplying by it keeps the gradient rule a plain Mul. Its
 * training-mode flag is computed from the data (`x[0] == x[0]`) because ORT's optimizer
 * deletes a Dropout whose flag is a constant. The generator advances from run to run of one
 * session; a new session starts the sequence again.
 */
function dropoutOf(x: Tensor, rate: number, seed: number): Tensor {
  const g = x.graph;
  const first = gather(reshape(x, [-1]), 0);
  const mask = g.addNode(
    'Dropout',
    [constantOfShape(shape(x), 1, x.dtype), g.scalar(rate, x.dtype), equal(first, first)],
    { seed: { kind: 'int', value: seed } },
    [{ dtype: x.dtype, shape: x.shape }],
  )[0];
  return mul(x, mask);
}
