import type { Graph, Tensor } from '../engine/index.ts';

/**
 * Single-node ONNX (opset 23) forms of RMSNorm, rotary embedding and attention for inference
 * graphs: one kernel each instead of 5-15 primitive nodes, which is what a one-token decode
 * step spends its time on. They have no gradient rules, so training graphs use the composed
 * layer kit instead (the parity tests check both paths against the same reference).
 */

const intAttr = (value: number) => ({ kind: 'int' as const, value });

/** `weight * x / sqrt(mean(x²) + eps)` over the last axis (ONNX RMSNormalization, float32 statistics). */
export function rmsNormalization(x: Tensor, weight: Tensor, eps: number): Tensor {
  return x.graph.addNode(
    'RMSNormalization',
    [x, weight],
    { axis: intAttr(-1), epsilon: { kind: 'float', value: eps }, stash_type: intAttr(1) },
    [{ dtype: x.dtype, shape: x.shape }],
  )[0];
}

/**
 * Rotary embedding (rotate-half, as Hugging Face Llama) of `x [B, T, heads*headDim]`, with
 * per-position `cos`/`sin` `[B, T, headDim/2]`.
 */
export function rotaryEmbedding(x: Tensor, cos: Tensor, sin: Tensor, heads: number): Tensor {
  return x.graph.addNode(
    'RotaryEmbedding',
    [x, cos, sin],
    { interleaved: intAttr(0), num_heads: intAttr(heads) },
    [{ dtype: x.dtype, shape: x.shape }],
  )[0];
}

/** Result of {@link groupedQueryAttention}. */
export interface AttentionResult {
  /** `[B, T, heads*headDim]`. */
  output: Tensor;
  /** Keys including the new positions `[B, kvHeads, P+T, headDim]`. */
  presentKey: Tensor;
  /** Values including the new positions. */
  presentValue: Tensor;
}

/**
 * ONNX Attention over 3-D `q [B, T, H*D]`, `k`/`v [B, T, kvH*D]` (query head h reads KV head
 * h / (H/kvH)), optional past keys/values `[B, kvH, P, D]` and an additive mask broadcasting
 * to `[B, H, T, P+T]` (causality and padding both live in the mask).
 */
export function groupedQueryAttention(
  g: Graph,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor,
  options: {
    heads: number;
    kvHeads: number;
    headDim: number;
    pastKey?: Tensor;
    pastValue?: Tensor;
  },
): AttentionResult {
  const { heads, kvHeads, headDim } = options;
  const past = options.pastKey?.shape[2];
  // A symbolic name for past + new positions; ONNX Runtime checks the real size at run time.
  const total = past === undefined ? k.shape[1] : [past, k.shape[1]].map(String).sort().join('+');
  const [output, presentKey, presentValue] = g.addNode(
    'Attention',
    [q, k, v, mask, options.pastKey, options.pastValue],
    {
      q_num_heads: intAttr(heads),
      kv_num_heads: intAttr(kvHeads),
      scale: { kind: 'float', value: 1 / Math.sqrt(headDim) },
    },
    [
      { dtype: q.dtype, shape: q.shape },
      { dtype: q.dtype, shape: [q.shape[0], kvHeads, total, headDim] },
      { dtype: q.dtype, shape: [q.shape[0], kvHeads, total, headDim] },
    ],
  );
  return { output, presentKey, presentValue };
}
