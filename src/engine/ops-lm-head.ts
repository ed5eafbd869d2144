import { defineGradient, int, str, type Attr, type Tensor } from './graph.ts';
import { add, div, equal, exp, log, maximum, mul, neg, not, sub, sum } from './ops-math.ts';
import { constantOfShape, gather, gatherElements, slice } from './ops-index.ts';
import { concat, reshape, shape, unsqueeze } from './ops-shape.ts';
import { gemm, logSoftmax, reduceMax, reduceSum } from './ops-nn.ts';
import { unknownDim } from './dims.ts';

/** Options for {@link lmHeadCrossEntropy}. */
export interface LmHeadOptions {
  /**
   * Vocabulary columns whose logits exist at once (default 8192): a chunk's `[scored, chunk]`
   * logits are computed, reduced and dropped before the next, in the forward and again in the
   * backward. A vocabulary no larger than one chunk takes the plain log-softmax path.
   */
  chunk?: number;
  /** Targets equal to this carry no loss (default -100, as PyTorch and Hugging Face). */
  ignoreIndex?: number;
  /**
   * Accumulate each scored row's d loss / d hidden during the forward's pass over the chunks
   * (a row's loss depends on its own hidden row only), so the backward scales it by the
   * incoming gradient instead of a second pass over the vocabulary: one GEMM per chunk fewer.
   * For graphs that will be differentiated; a forward-only graph would pay that GEMM for nothing.
   */
  fuseHiddenGrad?: boolean;
}

/** The default vocabulary chunk: 512 scored positions x 8192 columns = 16 MB of logits. */
export const LM_HEAD_CHUNK = 8192;

/**
 * Per-position cross-entropy `[N]` of the output head `hidden [N, d] @ weightᵀ` (`weight
 * [V, d]`, Hugging Face's `[out, in]`) against `targets [N]`, 0 where the target is ignored,
 * without the `[N, V]` logits ever existing at once. Scored rows are gathered first (an
 * assistant-only SFT batch scores a fraction of its positions); logits are made one vocabulary
 * chunk at a time, combined by a running log-sum-exp, and the gradient recomputes each chunk
 * from the log-sum-exp instead of keeping it (a checkpointed head), giving d hidden and d weight.
 */
export function lmHeadCrossEntropy(
  hidden: Tensor,
  weight: Tensor,
  targets: Tensor,
  options: LmHeadOptions = {},
): Tensor {
  const { chunk = LM_HEAD_CHUNK, ignoreIndex = -100, fuseHiddenGrad = false } = options;
  const [V, d] = weight.shape;
  if (hidden.rank !== 2 || weight.rank !== 2 || targets.rank !== 1)
    throw new Error(
      `lmHeadCrossEntropy: needs hidden [N, d], weight [V, d], targets [N]; got ${hidden}, ${weight}, ${targets}`,
    );
  if (typeof V !== 'number' || typeof d !== 'number' || hidden.shape[1] !== d)
    throw new Error(`lmHeadCrossEntropy: weight ${weight} must be static and match ${hidden}`);
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new Error(`lmHeadCrossEntropy: chunk must be a positive integer, got ${chunk}`);
  const g = hidden.graph;
  const M = unknownDim();
  const nonzero = g.addNode('NonZero', [not(equal(targets, ignoreIndex))], {}, [
    { dtype: 'int64', shape: [1, M] },
  ])[0];
  const rows = reshape(nonzero, [-1]);
  const h = gather(hidden, rows, 0);
  const t = gather(targets, rows, 0);
  const at = unsqueeze(t, [1]);
  const bounds: [number, number][] = [];
  for (let s = 0; s < V; s += chunk) bounds.push([s, Math.min(V, s + chunk)]);
  // Chunk bounds offset by a run-time zero (rows - rows): ORT cannot fold the slices of a frozen
  // weight into initializers (a second, prepacked copy of the head), so each chunk is copied
  // when used. Past the first chunk, the zero comes from the previous chunk's running results,
  // so no chunk starts before the one ahead is reduced: ORT's order is otherwise free, and it
  // held every chunk's weight copy and logits to the end of the head (19 x 45 MB for a
  // 151,936 x 896 head over 512 rows) at the forward's end, where training memory peaks.
  const parts: Tensor[] = [];
  const part = (c: number, after: readonly [Tensor, Tensor]): Tensor => {
    const [s, e] = bounds[c];
    const zero = sub(shape(after[0], 0, 1), shape(after[1], 0, 1));
    return (parts[c] = reshape(slice(weight, add(zero, s), add(zero, e), [0]), [e - s, d]));
  };
  const logits = (w: Tensor, c?: Tensor): Tensor => gemm(h, w, c, { transB: true });

  let scored: Tensor;
  let logProb: Tensor | undefined;
  let lse: Tensor | undefined;
  let rowGrad: Tensor | undefined;
  if (bounds.length === 1) {
    // The whole vocabulary in one chunk: the same float math as crossEntropy over the logits.
    logProb = logSoftmax(logits(weight), -1);
    scored = neg(reshape(gatherElements(logProb, at, 1), [-1]));
  } else {
    if (fuseHiddenGrad) {
      // Online softmax as in flash attention: a running max rescales the running sum and the
      // running softmax-weighted sum of weight rows, whose ratio is E_p[W] = d lse / d h.
      const w0 = part(0, [targets, targets]);
      const z0 = logits(w0);
      let top = reduceMax(z0, [1]);
      let e = exp(sub(z0, top));
      let total = reduceSum(e, [1]);
      let acc = gemm(e, w0);
      for (let c = 1; c < bounds.length; c++) {
        const w = part(c, [acc, total]);
        const z = logits(w);
        const next = maximum(top, reduceMax(z, [1]));
        const scale = exp(sub(top, next));
        e = exp(sub(z, next));
        total = add(mul(total, scale), reduceSum(e, [1]));
        acc = gemm(e, w, mul(acc, scale));
        top = next;
      }
      lse = add(top, log(total));
      rowGrad = div(acc, total);
    } else {
      const stats: { m: Tensor; s: Tensor }[] = [];
      for (let c = 0; c < bounds.length; c++) {
        const ahead = stats[c - 1];
        const z = logits(part(c, ahead ? [ahead.m, ahead.s] : [targets, targets]));
        const m = reduceMax(z, [1]);
        stats.push({ m, s: reduceSum(exp(sub(z, m)), [1]) });
      }
      const top = stats.map((x) => x.m).reduce((a, b) => maximum(a, b));
      lse = add(top, log(sum(stats.map((x) => mul(x.s, exp(sub(x.m, top)))))));
    }
    const picked = reduceSum(mul(h, gather(weight, t, 0)), [1], { keepdims: false });
    scored = sub(reshape(lse, [-1]), picked);
  }
  const scatterRows = (data: Tensor, updates: Tensor): Tensor =>
    g.addNode('ScatterND', [data, unsqueeze(rows, [1]), updates], {}, [
      { dtype: data.dtype, shape: data.shape },
    ])[0];
  const losses = scatterRows(constantOfShape(shape(targets), 0, hidden.dtype), scored);

  defineGradient({
    name: 'lmHeadCrossEntropy',
    inputs: [hidden, weight],
    outputs: [losses],
    backward([gy], needs) {
      if (!gy) return [undefined, undefined];
      const w = unsqueeze(gather(gy, rows, 0), [1]);
      let dz: Tensor[];
      let dh: Tensor | undefined;
      let dTarget: Tensor | undefined;
      if (logProb) {
        // softmax * w, then -w at each target by a sparse scatter, as crossEntropy does.
        dz = [scatterAdd(mul(exp(logProb), w), at, neg(w), 1)];
        if (needs[0]) dh = gemm(dz[0], weight);
      } else {
        // Each chunk's probabilities straight from the log-sum-exp: exp(h Wcᵀ - lse).
        const negLse = neg(lse!);
        dz = needs[1] || !rowGrad ? parts.map((p) => mul(exp(logits(p, negLse)), w)) : [];
        if (needs[0]) {
          const expected = rowGrad ? mul(rowGrad, w) : sum(dz.map((z, c) => gemm(z, parts[c])));
          dh = sub(expected, mul(gather(weight, t, 0), w));
        }
        dTarget = neg(mul(h, w));
      }
      const dHidden = dh && scatterRows(constantOfShape(shape(hidden), 0, hidden.dtype), dh);
      let dWeight: Tensor | undefined;
      if (needs[1]) {
        const chunks = dz.map((z) => gemm(z, h, undefined, { transA: true }));
        dWeight = chunks.length === 1 ? chunks[0] : concat(chunks, 0);
        if (dTarget) dWeight = scatterAdd(dWeight, at, dTarget);
      }
      return [dHidden, dWeight];
    },
  });
  return losses;
}

/** `data` plus `updates` at `indices`: ScatterElements along `axis`, else ScatterND rows. */
function scatterAdd(data: Tensor, indices: Tensor, updates: Tensor, axis?: number): Tensor {
  const attrs: Record<string, Attr> = axis === undefined ? {} : { axis: int(axis) };
  return data.graph.addNode(
    axis === undefined ? 'ScatterND' : 'ScatterElements',
    [data, indices, updates],
    { ...attrs, reduction: str('add') },
    [{ dtype: data.dtype, shape: data.shape }],
  )[0];
}
