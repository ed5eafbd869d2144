import { isStatic, type Dim } from './dims.ts';
import { siluDerivative } from './grad-rules-math.ts';
import { defineGradient, float, int, str, type DType, type Graph, type Tensor } from './graph.ts';
import { add, cast, cos, exp, mul, neg, reciprocal, sigmoid, sin, sqrt, sub } from './ops-math.ts';
import { gemm, matmul, reduceMean, softmax, sumRows } from './ops-nn.ts';
import {
  concat,
  flatten,
  reshape,
  shape,
  split,
  squeeze,
  transpose,
  unsqueeze,
} from './ops-shape.ts';
import { constantOfShape, gather, trilu } from './ops-index.ts';

/** A Linear layer's parameters, stored as Hugging Face does (`weight: [out, in]`). */
export interface LinearParams {
  /** `[out, in]`. */
  weight: Tensor;
  /** `[out]`, when the layer has a bias. */
  bias?: Tensor;
}

/** Declares `${name}.weight` (and `${name}.bias`) on a graph. */
export function declareLinear(
  g: Graph,
  name: string,
  inFeatures: number,
  outFeatures: number,
  options: { bias?: boolean; trainable?: boolean } = {},
): LinearParams {
  const trainable = options.trainable;
  return {
    weight: g.param(`${name}.weight`, [outFeatures, inFeatures], { trainable }),
    bias: options.bias ? g.param(`${name}.bias`, [outFeatures], { trainable }) : undefined,
  };
}

/**
 * `x @ weightᵀ + bias` over the last axis of `x [..., in]`, using the weight as stored (a
 * transB flag, never a Transpose node). With a bias, or without contrib ops: one Gemm over
 * the flattened rows, which adds the bias in the same pass; otherwise a FusedMatMul.
 */
export function linear(x: Tensor, p: LinearParams): Tensor {
  if (x.rank === 2) return gemm(x, p.weight, p.bias, { transB: true });
  if (!p.bias && x.graph.contribOps && x.dtype === 'float32') {
    return matmul(x, p.weight, { transB: true });
  }
  const out = gemm(flatten(x, x.rank - 1), p.weight, p.bias, { transB: true });
  const outFeatures = p.weight.shape[0] as number;
  const lead = x.shape.slice(0, -1);
  const target = isStatic(lead)
    ? [...lead, outFeatures]
    : concat([shape(x, 0, x.rank - 1), x.graph.int64s([outFeatures])], 0);
  return reshape(out, target);
}

/** Embedding lookup: rows of `weight [vocab, dim]` for integer `ids [...]`. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  return gather(weight, ids, 0);
}

/**
 * RMSNorm over the last axis (Llama/Qwen2): `weight * x / sqrt(mean(x²) + eps)`, with a fused
 * gradient that reuses the forward's `1/rms`.
 */
export function rmsNorm(x: Tensor, weight: Tensor | undefined, eps: number): Tensor {
  const inv = reciprocal(sqrt(add(reduceMean(mul(x, x), [-1]), eps)));
  const xn = mul(x, inv);
  const y = weight ? mul(xn, weight) : xn;
  defineGradient({
    name: 'rmsNorm',
    inputs: weight ? [x, weight] : [x],
    outputs: [y],
    backward([g], needs) {
      const gxn = weight ? mul(g!, weight) : g!;
      const gx = needs[0] ? mul(inv, sub(gxn, mul(xn, reduceMean(mul(gxn, xn), [-1])))) : undefined;
      const gw = weight && needs[1] ? sumRows(mul(g!, xn)) : undefined;
      return [gx, gw];
    },
  });
  return y;
}

/**
 * LayerNorm over the last axis: ONNX LayerNormalization, whose saved mean and 1/std (kept in
 * float32 by ORT whatever the input type) the gradient reuses.
 */
export function layerNorm(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | undefined,
  eps: number,
): Tensor {
  const stats = { dtype: 'float32' as const, shape: [...x.shape.slice(0, -1), 1] };
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return x.graph.addNode('LayerNormalization', inputs, { axis: int(-1), epsilon: float(eps) }, [
    { dtype: x.dtype, shape: x.shape },
    stats,
    stats,
  ])[0];
}

/** SiLU (swish): `x * sigmoid(x)`, with a fused gradient. */
export function silu(x: Tensor): Tensor {
  // ORT fuses Mul(x, Sigmoid(x)) into QuickGelu, which has no float64 kernel.
  const s = x.dtype === 'float32' ? sigmoid(x) : reciprocal(add(exp(neg(x)), 1));
  const y = mul(x, s);
  defineGradient({
    name: 'silu',
    inputs: [x],
    outputs: [y],
    backward: ([g]) => [mul(g!, siluDerivative(x, s))],
  });
  return y;
}

/** GELU (exact erf form, or the tanh approximation); float32/float16 only in ONNX Runtime. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return x.graph.addNode('Gelu', [x], { approximate: str(approximate) }, [
    { dtype: x.dtype, shape: x.shape },
  ])[0];
}

/**
 * Rotary embedding tables as Hugging Face Llama computes them: `cos`/`sin` of
 * `position * theta^(-2i/headDim)`, duplicated to `headDim`, shaped `[B, 1, T, headDim]`
 * to broadcast over heads. `positionIds` is int64 `[B, T]`.
 */
export function rotaryTables(
  positionIds: Tensor,
  headDim: number,
  theta: number,
  dtype: DType = 'float32',
): { cos: Tensor; sin: Tensor } {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++)
    inv[i] = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim))));
  const freqs = mul(
    unsqueeze(cast(positionIds, 'float32'), [-1]),
    positionIds.graph.constant(inv, 'float32', [half]),
  );
  const emb = unsqueeze(concat([freqs, freqs], -1), [1]);
  return { cos: cast(cos(emb), dtype), sin: cast(sin(emb), dtype) };
}

/** Applies rotary embedding to `x [B, H, T, D]` (rotate-half convention, as HF Llama). */
export function applyRotary(x: Tensor, tables: { cos: Tensor; sin: Tensor }): Tensor {
  const half = x.shape[x.rank - 1] as number;
  const [x1, x2] = split(x, [half / 2, half / 2], -1);
  const rotated = concat([neg(x2), x1], -1);
  return add(mul(x, tables.cos), mul(rotated, tables.sin));
}

/** A length for {@link attentionBias}: a size or a 1-element int64 tensor (e.g. from `dimOf`). */
export type Length = number | Tensor;

/** What to mask in {@link attentionBias}. */
export interface AttentionBiasOptions {
  /** Hide later keys (query i sees keys up to i + keyLength - queryLength). */
  causal?: boolean;
  /** `[B, keyLength]`, 1 for real tokens and 0 for padding (any numeric or bool dtype). */
  keyMask?: Tensor;
  /** Element type of the bias (default float32). */
  dtype?: DType;
}

/** The value added to masked attention scores (finite, so fully masked rows stay NaN-free). */
export const MASKED = -1e9;

/**
 * An additive attention bias (0 = attend, -1e9 = masked) broadcasting against scores
 * `[B, H, Tq, Tk]`: `[1, 1, Tq, Tk]` for causal only, `[B, 1, Tq|1, Tk]` with a key mask.
 * Build it once and pass it to every layer.
 */
export function attentionBias(
  g: Graph,
  queryLength: Length,
  keyLength: Length,
  options: AttentionBiasOptions,
): Tensor | undefined {
  const dtype = options.dtype ?? 'float32';
  let bias: Tensor | undefined;
  if (options.causal) {
    if (typeof queryLength === 'number' && typeof keyLength === 'number') {
      const values = new Float32Array(queryLength * keyLength);
      const offset = keyLength - queryLength;
      for (let i = 0; i < queryLength; i++)
        for (let j = i + offset + 1; j < keyLength; j++) values[i * keyLength + j] = MASKED;
      bias = g.constant(values, dtype, [1, 1, queryLength, keyLength]);
    } else {
      const len = (l: Length): Tensor => (typeof l === 'number' ? g.int64s([l]) : l);
      const ones = constantOfShape(concat([len(queryLength), len(keyLength)], 0), 1, dtype);
      const allowed = trilu(ones, { k: squeeze(sub(len(keyLength), len(queryLength)), [0]) });
      bias = unsqueeze(mul(sub(allowed, 1), -MASKED), [0, 1]);
    }
  }
  if (options.keyMask) {
    const keep = cast(options.keyMask, dtype);
    const pad = unsqueeze(mul(sub(keep, 1), -MASKED), [1, 2]);
    bias = bias ? add(bias, pad) : pad;
  }
  return bias;
}

/**
 * Scaled dot-product attention: `softmax(q kᵀ * scale + bias) v` for `q [B, H, Tq, D]`,
 * `k`/`v [B, H, Tk, D]` (same head count; the model layer expands grouped KV heads).
 */
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: { bias?: Tensor; scale?: number } = {},
): Tensor {
  const d = q.shape[q.rank - 1];
  const scale = options.scale ?? 1 / Math.sqrt(typeof d === 'number' ? d : NaN);
  if (!Number.isFinite(scale))
    throw new Error(`attention: head size of ${q} is symbolic; pass a scale`);
  const scores = matmul(q, k, { transB: true, alpha: scale });
  const probs = softmax(options.bias ? add(scores, options.bias) : scores, -1);
  return matmul(probs, v);
}

/** Splits `x [B, T, H*D]` into heads `[B, H, T, D]`. */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const width = x.shape[2] as number;
  const t = reshape(x, [x.shape[0], x.shape[1], heads, width / heads]);
  return transposeHeads(t);
}

/** Merges heads `[B, H, T, D]` back into `[B, T, H*D]`. */
export function mergeHeads(x: Tensor): Tensor {
  const [, h, , d] = x.shape as Dim[];
  const t = transposeHeads(x);
  return reshape(t, [t.shape[0], t.shape[1], (h as number) * (d as number)]);
}

function transposeHeads(x: Tensor): Tensor {
  return transpose(x, [0, 2, 1, 3]);
}
