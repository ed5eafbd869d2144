import { describe, expect, it } from 'vitest';
import { gradients } from './autodiff.ts';
import { Graph, type Tensor } from './graph.ts';
import { applyRotary, gelu, layerNorm, rmsNorm, rotaryTables, silu } from './nn.ts';
import * as m from './ops-math.ts';
import * as n from './ops-nn.ts';
import * as ix from './ops-index.ts';
import * as s from './ops-shape.ts';
import { checkGradients, type CheckInput } from './testing.ts';

const x = (shape: CheckInput['shape'], dims?: number[]): CheckInput => ({ name: 'x', shape, dims });
const y = (shape: CheckInput['shape'], dims?: number[]): CheckInput => ({ name: 'y', shape, dims });
const positive = (name: string, count: number, shape: number[]): CheckInput => ({
  name,
  shape,
  data: Array.from({ length: count }, (_, i) => 0.5 + ((i * 7) % 5) / 3),
});

type Case = [string, (t: Tensor[]) => Tensor, CheckInput[]];

// float64 finite differences: every rule, including broadcasting and symbolic dims.
const float64Cases: Case[] = [
  ['add with broadcasting', ([a, b]) => m.add(a, b), [x([2, 3]), y([3])]],
  ['sub with leading broadcast', ([a, b]) => m.sub(a, b), [x([2, 1, 3]), y([4, 1])]],
  ['mul with size-1 axes', ([a, b]) => m.mul(a, b), [x([2, 1]), y([1, 3])]],
  ['mul by a scalar constant', ([a]) => m.mul(a, 0.5), [x([3])]],
  ['div with broadcasting', ([a, b]) => m.div(a, b), [x([2, 3]), positive('y', 2, [2, 1])]],
  ['pow by constant', ([a]) => m.pow(a, 3), [x([4])]],
  ['pow by tensor', ([a, b]) => m.pow(a, b), [positive('x', 4, [4]), y([4])]],
  ['sqrt', ([a]) => m.sqrt(a), [positive('x', 5, [5])]],
  ['reciprocal', ([a]) => m.reciprocal(a), [positive('x', 5, [5])]],
  ['neg, exp, log', ([a]) => m.log(m.exp(m.neg(a))), [x([5])]],
  ['tanh', ([a]) => m.tanh(a), [x([5])]],
  ['sigmoid', ([a]) => m.sigmoid(a), [x([5])]],
  ['relu', ([a]) => m.relu(a), [{ name: 'x', shape: [4], data: [-1, 0.5, 2, -0.3] }]],
  ['sin, cos', ([a]) => m.mul(m.sin(a), m.cos(a)), [x([4])]],
  [
    'where',
    ([c, a, b]) => m.where(m.greater(c, 0), a, b),
    [x([2, 3]), y([3]), { name: 'z', shape: [2, 1] }],
  ],
  ['identity, fan-out', ([a]) => m.mul(m.identity(a), m.add(a, m.mul(a, a))), [x([3])]],
  [
    'sum of three',
    ([a, b, c]) => m.sum([a, b, c]),
    [x([2, 2]), y([2]), { name: 'z', shape: [1, 2] }],
  ],
  ['matmul batched', ([a, b]) => n.matmul(a, b), [x([2, 3, 4]), y([4, 2])]],
  ['matmul broadcast batch', ([a, b]) => n.matmul(a, b), [x([2, 1, 3, 2]), y([3, 2, 2])]],
  [
    'matmul transB alpha (standard ops)',
    ([a, b]) => n.matmul(a, b, { transB: true, alpha: 0.5 }),
    [x([2, 3, 4]), y([2, 5, 4])],
  ],
  ['gemm', ([a, b, c]) => n.gemm(a, b, c), [x([2, 3]), y([3, 4]), { name: 'c', shape: [4] }]],
  [
    'gemm transA',
    ([a, b, c]) => n.gemm(a, b, c, { transA: true, alpha: 2, beta: 0.5 }),
    [x([3, 2]), y([3, 4]), { name: 'c', shape: [2, 1] }],
  ],
  ['gemm transB', ([a, b]) => n.gemm(a, b, undefined, { transB: true }), [x([2, 3]), y([4, 3])]],
  [
    'gemm transA transB',
    ([a, b]) => n.gemm(a, b, undefined, { transA: true, transB: true }),
    [x([3, 2]), y([4, 3])],
  ],
  ['softmax', ([a]) => n.softmax(a, 1), [x([2, 4])]],
  ['logSoftmax', ([a]) => n.logSoftmax(a), [x([2, 4])]],
  ['reduceSum keepdims', ([a]) => n.reduceSum(a, [1]), [x([2, 3, 2])]],
  ['reduceSum all', ([a]) => n.reduceSum(a, undefined, { keepdims: false }), [x([2, 3])]],
  [
    'reduceMean symbolic',
    ([a]) => n.reduceMean(a, [0, 2], { keepdims: false }),
    [x(['B', 3, 'T'], [2, 3, 2])],
  ],
  ['reduceMax', ([a]) => n.reduceMax(a, [-1], { keepdims: false }), [x([3, 4])]],
  ['gather embedding with repeats', ([w]) => ix.gather(w, [2, 0, 2, 1]), [x([3, 2])]],
  [
    'gather axis 1 with 2-D indices',
    ([w]) => ix.gather(w, w.graph.constant([0, 2, 2, 1], 'int64', [2, 2]), 1),
    [x([2, 3, 2])],
  ],
  ['gather scalar index', ([w]) => ix.gather(w, 1, 0), [x([3, 2])]],
  [
    'gatherElements',
    ([w]) => ix.gatherElements(w, w.graph.constant([0, 2, 1, 1], 'int64', [2, 2]), 1),
    [x([2, 3])],
  ],
  ['transpose', ([a]) => s.transpose(a, [2, 0, 1]), [x([2, 3, 2])]],
  ['reshape symbolic', ([a]) => s.reshape(a, [-1, 2]), [x(['B', 4], [3, 4])]],
  [
    'squeeze, unsqueeze, flatten',
    ([a]) => s.flatten(s.unsqueeze(s.squeeze(a, [1]), [0]), 2),
    [x([2, 1, 3])],
  ],
  [
    'concat symbolic',
    ([a, b]) => s.concat([a, b], 1),
    [x(['B', 'P', 2], [2, 1, 2]), y(['B', 'T', 2], [2, 3, 2])],
  ],
  ['split with an unused part', ([a]) => s.split(a, [1, 2, 1], 1)[2], [x([2, 4])]],
  ['split equal parts', ([a]) => m.mul(...(s.split(a, 2, 0) as [Tensor, Tensor])), [x([4, 3])]],
  [
    'slice negative start, symbolic',
    ([a]) => ix.slice(a, [-2], [ix.END], [1]),
    [x([2, 'T'], [2, 5])],
  ],
  ['slice middle', ([a]) => ix.slice(a, [1, 0], [3, 2], [0, 1]), [x([4, 3])]],
  ['expand', ([a]) => s.expand(a, [2, 3, 2]), [x([3, 1])]],
  ['trilu', ([a]) => ix.trilu(a, { k: 1 }), [x([3, 4])]],
  [
    'crossEntropy with ignored targets',
    ([a]) => n.crossEntropy(a, a.graph.constant([2, -100, 0], 'int64', [3])),
    [x([3, 4])],
  ],
  [
    'crossEntropy 3-D sum',
    ([a]) =>
      n.crossEntropy(a, a.graph.constant([1, 0, 2, 2], 'int64', [2, 2]), { reduction: 'sum' }),
    [x([2, 2, 3])],
  ],
  [
    'crossEntropy none',
    ([a]) => n.crossEntropy(a, a.graph.constant([1, 0], 'int64', [2]), { reduction: 'none' }),
    [x([2, 3])],
  ],
  ['rmsNorm', ([a, w]) => rmsNorm(a, w, 1e-6), [x([2, 3, 4]), y([4])]],
  [
    'layerNorm',
    ([a, w, b]) => layerNorm(a, w, b, 1e-5),
    [x([2, 4]), y([4]), { name: 'b', shape: [4] }],
  ],
  ['silu', ([a]) => silu(a), [x([5])]],
  [
    'rotary',
    ([a]) =>
      applyRotary(
        a,
        rotaryTables(a.graph.constant([0, 1, 5], 'int64', [1, 3]), 4, 10000, 'float64'),
      ),
    [x([1, 2, 3, 4])],
  ],
];

// ORT has float32-only kernels for these; checked in float32 with a larger step.
const float32Cases: Case[] = [
  ['erf', ([a]) => m.erf(a), [x([5])]],
  [
    'cast keeps the gradient path',
    ([a]) => m.cast(m.exp(m.cast(a, 'float64')), 'float32'),
    [x([3])],
  ],
  ['gelu', ([a]) => gelu(a), [x([6])]],
  ['gelu tanh', ([a]) => gelu(a, 'tanh'), [x([6])]],
  [
    'fusedMatMul transA transB alpha',
    ([a, b]) => n.matmul(a, b, { transA: true, transB: true, alpha: 0.5 }),
    [x([2, 4, 3]), y([2, 5, 4])],
  ],
  [
    'fusedMatMul transB on a 2-D weight',
    ([a, b]) => n.matmul(a, b, { transB: true }),
    [x([2, 3, 4]), y([5, 4])],
  ],
  [
    'fusedMatMul transA',
    ([a, b]) => n.matmul(a, b, { transA: true }),
    [x([2, 4, 3]), y([2, 4, 2])],
  ],
];

describe('gradients: finite-difference checks (float64)', () => {
  it.each(float64Cases)('%s', async (_name, build, inputs) => {
    const standardOnly = _name.includes('standard ops');
    const err = await checkGradients((ts) => {
      if (standardOnly) Object.assign(ts[0].graph, { contribOps: false });
      return build(ts);
    }, inputs);
    expect(err).toBeLessThan(1e-6);
  });
});

describe('gradients: finite-difference checks (float32-only kernels)', () => {
  it.each(float32Cases)('%s', async (_name, build, inputs) => {
    expect(await checkGradients(build, inputs, { dtype: 'float32' })).toBeLessThan(2e-3);
  });
});

describe('gradients(loss, wrt)', () => {
  it('prunes dead branches and returns undefined for tensors the loss does not reach', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [3]);
    const b = g.input('b', 'float32', [3]);
    const loss = n.reduceSum(m.mul(a, a));
    g.output(m.exp(b), 'unused');
    const before = g.nodes.length;
    const [ga, gb] = gradients(loss, [a, b]);
    expect(gb).toBeUndefined();
    expect(ga).toBeDefined();
    const added = g.nodes.slice(before);
    expect(added.some((node) => node.inputs.includes(b))).toBe(false);
  });

  it('gives no gradient to integer inputs and stops at frozen parameters', () => {
    const g = new Graph();
    const ids = g.input('ids', 'int64', [2]);
    const frozen = g.param('frozen', [4, 3], { trainable: false });
    const w = g.param('w', [3, 3]);
    const loss = n.reduceSum(n.matmul(ix.gather(frozen, ids), w));
    const grads = gradients(
      loss,
      g.params.filter((p) => p.trainable).map((p) => p.tensor),
    );
    expect(grads).toHaveLength(1);
    expect(gradients(loss, [ids])).toEqual([undefined]);
  });

  it('names the unsupported op and node on a differentiated path', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [3]);
    const [top] = g.addNode('Floor', [a], {}, [{ dtype: 'float32', shape: [3] }]);
    const loss = n.reduceSum(top);
    g.output(loss, 'loss');
    expect(() => gradients(loss, [a])).toThrow(
      /no gradient rule for op 'Floor' \(node Floor#\d+\) on the path to 'loss'/,
    );
  });

  it('sums fan-out gradients into one tensor per input', async () => {
    expect(
      await checkGradients(
        ([a, b]) => m.add(n.matmul(a, b), n.matmul(a, m.mul(b, 2))),
        [x([2, 2]), y([2, 2])],
      ),
    ).toBeLessThan(1e-6);
  });
});
