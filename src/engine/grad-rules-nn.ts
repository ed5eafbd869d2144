import { dimProduct } from './dims.ts';
import { expandLike, intAttr, knownInts, sumToShape, type GradRule } from './grad-util.ts';
import { nodeName, type Node, type Tensor } from './graph.ts';
import { cast, div, equal, exp, mul, sub } from './ops-math.ts';
import { gemm, matmul, reduceMean, reduceSum, sumRows } from './ops-nn.ts';
import { flatten, unsqueeze } from './ops-shape.ts';

/** Gradient rules of the matrix products, softmaxes, reductions and normalizations. */
export const NN_RULES: Record<string, GradRule> = {
  MatMul: (node, [g], needs) => matmulGrad(node, g!, needs, false, false, 1),
  'com.microsoft:FusedMatMul': (node, [g], needs) => {
    const flag = (name: string): boolean => intAttr(node, name, 0) === 1;
    const alpha = node.attrs.alpha?.kind === 'float' ? node.attrs.alpha.value : 1;
    return matmulGrad(node, g!, needs, flag('transA'), flag('transB'), alpha);
  },
  Gemm: (node, [g], needs) => {
    const [a, b, c] = node.inputs as (Tensor | undefined)[];
    const transA = intAttr(node, 'transA', 0) === 1;
    const transB = intAttr(node, 'transB', 0) === 1;
    const alpha = node.attrs.alpha?.kind === 'float' ? node.attrs.alpha.value : 1;
    const beta = node.attrs.beta?.kind === 'float' ? node.attrs.beta.value : 1;
    const ga = !needs[0]
      ? undefined
      : transA
        ? gemm(b!, g!, undefined, { transA: transB, transB: true, alpha })
        : gemm(g!, b!, undefined, { transB: !transB, alpha });
    const gb = !needs[1]
      ? undefined
      : transB
        ? gemm(g!, a!, undefined, { transA: true, transB: transA, alpha })
        : gemm(a!, g!, undefined, { transA: !transA, alpha });
    const gc = needs[2] ? sumToShape(beta === 1 ? g! : mul(g!, beta), c!.shape) : undefined;
    return [ga, gb, gc];
  },
  Softmax: (node, [g]) => {
    const y = node.outputs[0];
    const axis = intAttr(node, 'axis', -1);
    return [mul(y, sub(g!, reduceSum(mul(g!, y), [axis])))];
  },
  LogSoftmax: (node, [g]) => {
    const y = node.outputs[0];
    const axis = intAttr(node, 'axis', -1);
    return [sub(g!, mul(exp(y), reduceSum(g!, [axis])))];
  },
  ReduceSum: (node, [g]) => [expandLike(keptDims(node, g!), node.inputs[0]!)],
  ReduceMean: (node, [g]) => {
    const x = node.inputs[0]!;
    const y = node.outputs[0];
    const count = dimProduct(x.shape) === dimProduct(y.shape) ? 1 : reducedCount(x, y);
    return [expandLike(div(keptDims(node, g!), count), x)];
  },
  ReduceMax: (node, [g]) => {
    const x = node.inputs[0]!;
    const axes = reducedAxes(node);
    const yk = keptDims(node, node.outputs[0]);
    const hits = cast(equal(x, yk), x.dtype);
    const share = div(keptDims(node, g!), reduceSum(hits, axes));
    return [mul(hits, share)];
  },
  LayerNormalization: (node, [g], needs) => {
    const [x, scale, bias] = node.inputs as (Tensor | undefined)[];
    const mean = cast(node.outputs[1], x!.dtype);
    const invStd = cast(node.outputs[2], x!.dtype);
    if (intAttr(node, 'axis', -1) !== -1 && intAttr(node, 'axis', -1) !== x!.rank - 1) {
      throw new Error(
        `gradients: LayerNormalization (node ${nodeName(node)}) is differentiable over the last axis only`,
      );
    }
    const xhat = mul(sub(x!, mean), invStd);
    const gxhat = mul(g!, scale!);
    const gx = needs[0]
      ? mul(
          invStd,
          sub(sub(gxhat, reduceMean(gxhat, [-1])), mul(xhat, reduceMean(mul(gxhat, xhat), [-1]))),
        )
      : undefined;
    const gs = needs[1] ? sumRows(mul(g!, xhat)) : undefined;
    const gbias = needs[2] && bias ? sumRows(g!) : undefined;
    return [gx, gs, gbias];
  },
};

function reducedAxes(node: Node): number[] {
  const x = node.inputs[0]!;
  const axes = knownInts(node.inputs[1]);
  if (node.inputs[1] && !axes) throw new Error(`gradients: ${nodeName(node)} needs constant axes`);
  return (axes ?? x.shape.map((_, i) => i)).map((a) => (a < 0 ? a + x.rank : a));
}

/** The reduction's output (or its gradient) with reduced axes present as size 1. */
function keptDims(node: Node, t: Tensor): Tensor {
  return intAttr(node, 'keepdims', 1) === 1 ? t : unsqueeze(t, reducedAxes(node));
}

function reducedCount(x: Tensor, y: Tensor): Tensor | number {
  const n = dimProduct(x.shape);
  const m = dimProduct(y.shape);
  if (typeof n === 'number' && typeof m === 'number') return n / m;
  const size = (t: Tensor): Tensor =>
    cast(t.graph.addNode('Size', [t], {}, [{ dtype: 'int64', shape: [] }])[0], x.dtype);
  return div(size(x), size(y));
}

/**
 * Gradients of `y = alpha * op(a) @ op(b)`, written as products with transpose flags so
 * no Transpose node is needed; a 2-D weight's gradient flattens the batch into one GEMM.
 */
function matmulGrad(
  node: Node,
  g: Tensor,
  needs: readonly boolean[],
  transA: boolean,
  transB: boolean,
  alpha: number,
): (Tensor | undefined)[] {
  const [a, b] = node.inputs as Tensor[];
  if (a.rank < 2 || b.rank < 2)
    throw new Error(
      `gradients: ${nodeName(node)} is differentiable for rank >= 2 operands only (${a} x ${b})`,
    );
  let ga: Tensor | undefined;
  let gb: Tensor | undefined;
  if (needs[0]) {
    ga = transA
      ? matmul(b, g, { transA: transB, transB: true, alpha })
      : matmul(g, b, { transB: !transB, alpha });
    ga = sumToShape(ga, a.shape);
  }
  if (needs[1]) {
    if (b.rank === 2 && a.rank > 2 && !transA) {
      const a2 = flatten(a, a.rank - 1);
      const g2 = flatten(g, g.rank - 1);
      gb = transB
        ? gemm(g2, a2, undefined, { transA: true, alpha })
        : gemm(a2, g2, undefined, { transA: true, alpha });
    } else {
      gb = transB
        ? matmul(g, a, { transA: true, transB: transA, alpha })
        : matmul(a, g, { transA: !transA, alpha });
      gb = sumToShape(gb, b.shape);
    }
  }
  return [ga, gb];
}
