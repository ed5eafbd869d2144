import { broadcastShapes, formatShape, type Dim } from './dims.ts';
import { defineGradient, float, int, str, type Tensor } from './graph.ts';
import { cast, div, equal, exp, mul, neg, not, requireFloat, where } from './ops-math.ts';
import { gatherElements } from './ops-index.ts';
import {
  axisOf,
  dimOf,
  expand,
  flatten,
  reshape,
  reshapeLike,
  sizes,
  transpose,
  unsqueeze,
} from './ops-shape.ts';

/** Options for {@link matmul}. */
export interface MatMulOptions {
  /** Use the transpose of the last two axes of `a`. */
  transA?: boolean;
  /** Use the transpose of the last two axes of `b`. */
  transB?: boolean;
  /** Scale the product by this factor. */
  alpha?: number;
}

function swapLast(shape: readonly Dim[]): Dim[] {
  const s = [...shape];
  [s[s.length - 2], s[s.length - 1]] = [s[s.length - 1], s[s.length - 2]];
  return s;
}

function lastTwoPerm(rank: number): number[] {
  const p = Array.from({ length: rank }, (_, i) => i);
  [p[rank - 2], p[rank - 1]] = [p[rank - 1], p[rank - 2]];
  return p;
}

/**
 * Matrix product with numpy batching (`[..., M, K] x [..., K, N]`), optionally transposing
 * either operand and scaling. Transposes and the scale fold into one ORT `FusedMatMul`
 * (float32, contrib ops on) instead of extra Transpose and Mul nodes.
 */
export function matmul(a: Tensor, b: Tensor, options: MatMulOptions = {}): Tensor {
  const { transA = false, transB = false, alpha = 1 } = options;
  if (a.dtype !== b.dtype) throw new Error(`matmul: dtypes differ: ${a} and ${b}`);
  if ((transA && a.rank < 2) || (transB && b.rank < 2))
    throw new Error(`matmul: transpose needs rank >= 2: ${a} x ${b}`);
  const as = a.rank === 1 ? [1, a.shape[0]] : transA ? swapLast(a.shape) : [...a.shape];
  const bs = b.rank === 1 ? [b.shape[0], 1] : transB ? swapLast(b.shape) : [...b.shape];
  const k1 = as[as.length - 1];
  const k2 = bs[bs.length - 2];
  const shown = `${formatShape(a.shape)}${transA ? 'ᵀ' : ''} x ${formatShape(b.shape)}${transB ? 'ᵀ' : ''}`;
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2)
    throw new Error(`matmul: inner dims differ: ${shown}`);
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2));
  if (!batch) throw new Error(`matmul: batch dims do not broadcast: ${shown}`);
  const out: Dim[] = [...batch];
  if (a.rank > 1) out.push(as[as.length - 2]);
  if (b.rank > 1) out.push(bs[bs.length - 1]);
  const g = a.graph;
  if ((transA || transB || alpha !== 1) && g.contribOps && a.dtype === 'float32') {
    const attrs = { transA: int(transA ? 1 : 0), transB: int(transB ? 1 : 0), alpha: float(alpha) };
    return g.addNode(
      'FusedMatMul',
      [a, b],
      attrs,
      [{ dtype: a.dtype, shape: out }],
      'com.microsoft',
    )[0];
  }
  const ta = transA ? transpose(a, lastTwoPerm(a.rank)) : a;
  const tb = transB ? transpose(b, lastTwoPerm(b.rank)) : b;
  const y = g.addNode('MatMul', [ta, tb], {}, [{ dtype: a.dtype, shape: out }])[0];
  return alpha === 1 ? y : mul(y, alpha);
}

/** Options for {@link gemm}. */
export interface GemmOptions {
  /** Use `aᵀ`. */
  transA?: boolean;
  /** Use `bᵀ` (how Linear applies HF `[out, in]` weights without a Transpose node). */
  transB?: boolean;
  /** Scale of the product. */
  alpha?: number;
  /** Scale of `c`. */
  beta?: number;
}

/** `alpha * op(a) @ op(b) + beta * c` for 2-D `a`, `b` (`c` broadcasts to the result). */
export function gemm(a: Tensor, b: Tensor, c?: Tensor, options: GemmOptions = {}): Tensor {
  const { transA = false, transB = false, alpha = 1, beta = 1 } = options;
  if (a.rank !== 2 || b.rank !== 2) throw new Error(`gemm: needs 2-D operands, got ${a} and ${b}`);
  const [m, k1] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    throw new Error(
      `gemm: inner dims differ: ${formatShape(a.shape)}${transA ? 'ᵀ' : ''} x ${formatShape(b.shape)}${transB ? 'ᵀ' : ''}`,
    );
  }
  if (c && !broadcastShapes([m, n], c.shape))
    throw new Error(`gemm: c ${formatShape(c.shape)} does not broadcast to [${m},${n}]`);
  const attrs = {
    transA: int(transA ? 1 : 0),
    transB: int(transB ? 1 : 0),
    alpha: float(alpha),
    beta: float(beta),
  };
  return a.graph.addNode('Gemm', c ? [a, b, c] : [a, b], attrs, [
    { dtype: a.dtype, shape: [m, n] },
  ])[0];
}

/** Softmax along `axis` (default last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  requireFloat('softmax', x);
  return x.graph.addNode('Softmax', [x], { axis: int(axisOf('softmax', axis, x)) }, [
    { dtype: x.dtype, shape: x.shape },
  ])[0];
}

/** Log-softmax along `axis` (default last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  requireFloat('logSoftmax', x);
  return x.graph.addNode('LogSoftmax', [x], { axis: int(axisOf('logSoftmax', axis, x)) }, [
    { dtype: x.dtype, shape: x.shape },
  ])[0];
}

function reduce(
  op: string,
  x: Tensor,
  axes: readonly number[] | undefined,
  keepdims: boolean,
): Tensor {
  const all = axes === undefined || axes.length === 0;
  const norm = all ? x.shape.map((_, i) => i) : axes.map((a) => axisOf(op, a, x));
  const out = keepdims
    ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d))
    : x.shape.filter((_, i) => !norm.includes(i));
  const inputs = all ? [x] : [x, x.graph.int64s(norm)];
  return x.graph.addNode(op, inputs, { keepdims: int(keepdims ? 1 : 0) }, [
    { dtype: x.dtype, shape: out },
  ])[0];
}

/** Options of the reductions. */
export interface ReduceOptions {
  /** Keep reduced axes as size 1 (default true, as in ONNX). */
  keepdims?: boolean;
}

/** Sum over `axes` (all axes when omitted). */
export const reduceSum = (x: Tensor, axes?: readonly number[], o: ReduceOptions = {}): Tensor =>
  reduce('ReduceSum', x, axes, o.keepdims ?? true);
/** Mean over `axes` (all axes when omitted). */
export const reduceMean = (x: Tensor, axes?: readonly number[], o: ReduceOptions = {}): Tensor =>
  reduce('ReduceMean', x, axes, o.keepdims ?? true);
/** Maximum over `axes` (all axes when omitted). */
export const reduceMax = (x: Tensor, axes?: readonly number[], o: ReduceOptions = {}): Tensor =>
  reduce('ReduceMax', x, axes, o.keepdims ?? true);

/**
 * Sums `x [..., D]` over every axis but the last, giving `[D]` (bias and norm-weight
 * gradients). Done as one `ones[1, N] @ x[N, D]` product: ORT's ReduceSum over leading axes
 * runs on one thread and is about twice as slow.
 */
export function sumRows(x: Tensor): Tensor {
  const rows = x.rank === 2 ? x : flatten(x, x.rank - 1);
  const n = rows.shape[0];
  const g = x.graph;
  const ones =
    typeof n === 'number'
      ? g.constant(new Array<number>(n).fill(1), x.dtype, [1, n])
      : expand(g.scalar(1, x.dtype), sizes([1, dimOf(rows, 0)]));
  return reshape(matmul(ones, rows), [-1]);
}

/** Options for {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (default -100, as PyTorch and HF). */
  ignoreIndex?: number;
  /** `mean` over non-ignored targets (default), `sum`, or `none` (one loss per target). */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Softmax cross-entropy of `logits [..., C]` against integer `targets [...]`, with a fused
 * gradient `(softmax - onehot) * weight` that subtracts the one-hot part by a sparse scatter. A mean over zero kept targets is NaN, as in PyTorch.
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  options: CrossEntropyOptions = {},
): Tensor {
  const { ignoreIndex = -100, reduction = 'mean' } = options;
  requireFloat('crossEntropy', logits);
  const classes = logits.shape[logits.rank - 1];
  if (typeof classes !== 'number')
    throw new Error(`crossEntropy: class count must be static, got ${logits}`);
  if (targets.rank !== logits.rank - 1)
    throw new Error(`crossEntropy: targets ${targets} do not match logits ${logits}`);
  const g = logits.graph;
  const flat = logits.rank === 2 ? logits : reshape(logits, [-1, classes]);
  const labels = targets.rank === 1 ? targets : reshape(targets, [-1]);
  // LogSoftmax over the contiguous last axis (ORT's SoftmaxCrossEntropyLoss normalizes over
  // axis 1 of [N, C, 1], a strided and much slower path), then pick each target's entry.
  const logProb = logSoftmax(flat, -1);
  const keep = not(equal(labels, ignoreIndex));
  const mask = cast(keep, logits.dtype);
  const at = unsqueeze(where(keep, labels, 0), [1]);
  const picked = reshape(gatherElements(logProb, at, 1), [-1]);
  const losses = mul(neg(picked), mask);
  const total = (t: Tensor): Tensor =>
    g.addNode('ReduceSum', [t], { keepdims: int(0) }, [{ dtype: t.dtype, shape: [] }])[0];
  const count = reduction === 'mean' ? total(mask) : undefined;
  const result =
    reduction === 'none'
      ? reshapeLike(losses, targets)
      : count
        ? div(total(losses), count)
        : total(losses);
  defineGradient({
    name: 'crossEntropy',
    inputs: [logits],
    outputs: [result],
    backward([gy]) {
      if (!gy) return [undefined];
      let weight = mul(mask, reduction === 'none' ? reshape(gy, [-1]) : gy);
      if (count) weight = div(weight, count);
      // softmax * w, then -w at each target: a sparse scatter instead of a dense one-hot.
      const w = unsqueeze(weight, [1]);
      const scaled = mul(exp(logProb), w);
      const grad = g.addNode(
        'ScatterElements',
        [scaled, at, neg(w)],
        { axis: int(1), reduction: str('add') },
        [{ dtype: logits.dtype, shape: flat.shape }],
      )[0];
      return [reshapeLike(grad, logits)];
    },
  });
  return result;
}
