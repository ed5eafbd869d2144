import { describe, expect, it } from 'vitest';
import { Graph } from './graph.ts';
import { add, cast, equal, mul, where } from './ops-math.ts';
import {
  crossEntropy,
  gemm,
  matmul,
  reduceMax,
  reduceMean,
  reduceSum,
  softmax,
  sumRows,
} from './ops-nn.ts';
import {
  concat,
  dimOf,
  expand,
  reshape,
  sizes,
  split,
  squeeze,
  transpose,
  unsqueeze,
} from './ops-shape.ts';
import { gather, slice, trilu, END } from './ops-index.ts';
import { evaluate, feed } from './testing.ts';

describe('graph builder', () => {
  it('matmul(a, b) names the op and both shapes when inner dims differ', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', ['B', 'T', 256]);
    const b = g.input('b', 'float32', [128, 512]);
    expect(() => matmul(a, b)).toThrow('matmul: inner dims differ: [B,T,256] x [128,512]');
  });

  it('add(a, b) rejects shapes that do not broadcast', () => {
    const g = new Graph();
    expect(() => add(g.input('a', 'float32', [2, 3]), g.input('b', 'float32', [4]))).toThrow(
      'Add: shapes do not broadcast: [2,3] x [4]',
    );
  });

  it('infers symbolic shapes through matmul, reshape(0/-1) and concat', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['B', 'T', 256]);
    const w = g.param('w', [256, 512]);
    expect(matmul(x, w).shape).toEqual(['B', 'T', 512]);
    expect(reshape(x, [-1, 256]).shape).toEqual(['B*T', 256]);
    expect(reshape(x, ['B', 'T', 4, 64]).shape).toEqual(['B', 'T', 4, 64]);
    const past = g.input('past', 'float32', ['B', 'P', 256]);
    expect(concat([past, x], 1).shape).toEqual(['B', 'P+T', 256]);
    expect(reshape(x, sizes([dimOf(x, 0), dimOf(x, 1), 4, 64])).shape).toEqual(['B', 'T', 4, 64]);
  });

  it("mul(x, 0.5) lifts the number into a scalar constant of x's dtype", async () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [3]);
    g.output(add(mul(x, 0.5), 1), 'y');
    const out = await evaluate(g, { x: feed('float64', [2, 4, 6], [3]) });
    expect(out.y.data).toEqual([2, 3, 4]);
  });

  it('output(t, name) renames computed tensors and copies inputs', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const y = g.output(mul(x, 2), 'double');
    expect(y.name).toBe('double');
    expect(g.output(x, 'same').producer?.op).toBe('Identity');
    expect(() => g.output(mul(x, 3), 'double')).toThrow("name 'double' is empty, already used");
  });
});

describe('forward ops on ONNX Runtime', () => {
  it('gemm(a, b, c, {transB}) and matmul(a, b, {transB, alpha}) agree with hand products', async () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [2, 3]);
    const c = g.input('c', 'float32', [2]);
    g.output(gemm(a, b, c, { transB: true }), 'gemm');
    g.output(matmul(a, b, { transB: true, alpha: 2 }), 'fused');
    const out = await evaluate(g, {
      a: feed('float32', [1, 2, 3, 4, 5, 6], [2, 3]),
      b: feed('float32', [1, 0, 1, 0, 1, 0], [2, 3]),
      c: feed('float32', [10, 20], [2]),
    });
    expect(out.gemm.data).toEqual([14, 22, 20, 25]);
    expect(out.fused.data).toEqual([8, 4, 20, 10]);
  });

  it('softmax, reductions, gather, transpose, slice, split, expand, trilu, where give numpy results', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 3]);
    g.output(softmax(x), 'softmax');
    g.output(reduceSum(x, [1], { keepdims: false }), 'sum');
    g.output(reduceMean(x), 'mean');
    g.output(reduceMax(x, [0], { keepdims: false }), 'max');
    g.output(gather(x, [1, 0, 1], 0), 'gather');
    g.output(transpose(x), 'transpose');
    g.output(slice(x, [1], [END], [1]), 'slice');
    g.output(split(x, [1, 2], 1)[1], 'split');
    g.output(expand(unsqueeze(squeeze(slice(x, [0], [1], [0]), [0]), [0]), [2, 3]), 'expand');
    g.output(trilu(x), 'trilu');
    g.output(where(equal(x, 2), x, -1), 'where');
    g.output(cast(x, 'int64'), 'cast');
    const out = await evaluate(g, { x: feed('float32', [1, 2, 3, 4, 5, 6], [2, 3]) });
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const z = e[0] + e[1] + e[2];
    out.softmax.data.slice(0, 3).forEach((v, i) => expect(v).toBeCloseTo(e[i] / z, 6));
    expect(out.sum.data).toEqual([6, 15]);
    expect(out.mean.data).toEqual([3.5]);
    expect(out.max.data).toEqual([4, 5, 6]);
    expect(out.gather.data).toEqual([4, 5, 6, 1, 2, 3, 4, 5, 6]);
    expect(out.transpose.data).toEqual([1, 4, 2, 5, 3, 6]);
    expect(out.slice.data).toEqual([2, 3, 5, 6]);
    expect(out.split.data).toEqual([2, 3, 5, 6]);
    expect(out.expand.data).toEqual([1, 2, 3, 1, 2, 3]);
    expect(out.trilu.data).toEqual([1, 0, 0, 4, 5, 0]);
    expect(out.where.data).toEqual([-1, 2, -1, -1, -1, -1]);
    expect(out.cast.data).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('sumRows(x) sums every axis but the last, with static or symbolic row counts', async () => {
    const g = new Graph();
    g.output(sumRows(g.input('x', 'float32', [2, 2, 3])), 'static');
    g.output(sumRows(g.input('y', 'float32', ['B', 3])), 'symbolic');
    const out = await evaluate(g, {
      x: feed('float32', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 2, 3]),
      y: feed('float32', [1, 2, 3, 4, 5, 6], [2, 3]),
    });
    expect(out.static.data).toEqual([22, 26, 30]);
    expect(out.symbolic.data).toEqual([5, 7, 9]);
  });

  it('crossEntropy(logits, targets, {ignoreIndex}) averages over kept targets only', async () => {
    const g = new Graph();
    const logits = g.input('logits', 'float32', ['B', 'T', 3]);
    const targets = g.input('targets', 'int64', ['B', 'T']);
    g.output(crossEntropy(logits, targets), 'loss');
    const out = await evaluate(g, {
      logits: feed('float32', [0, 0, 0, 1, 2, 3], [1, 2, 3]),
      targets: feed('int64', [-100, 2], [1, 2]),
    });
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    expect(out.loss.data[0]).toBeCloseTo(lse - 3, 6);
  });
});
