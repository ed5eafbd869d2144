import { describe, expect, it } from 'vitest';
import { gradients } from './autodiff.ts';
import { checkpoint } from './checkpoint.ts';
import { Graph, type Tensor } from './graph.ts';
import { add, mul, tanh } from './ops-math.ts';
import { gemm, reduceSum } from './ops-nn.ts';
import { checkGradients, evaluate, feed, randn } from './testing.ts';
import { rmsNorm } from './nn.ts';

const D = 5;
const LAYERS = 3;

/** A residual block reading a parameter it declares (its own name) and a shared input. */
function block(x: Tensor, layer: number, shared: Tensor): Tensor {
  const w = x.graph.param(`w${layer}`, [D, D]);
  const h = rmsNorm(x, undefined, 1e-6); // a composite with its own gradient rule inside
  return add(x, mul(tanh(gemm(h, w, undefined, { transB: true })), shared));
}

/** Loss and gradients (x, shared, each layer's weight) with or without checkpointing. */
async function run(checkpointed: boolean) {
  const g = new Graph();
  const x0 = g.input('x', 'float32', [4, D]);
  const shared = g.input('shared', 'float32', [D]);
  let x = x0;
  for (let i = 0; i < LAYERS; i++)
    x = checkpointed ? checkpoint(x, (input) => block(input, i, shared)) : block(x, i, shared);
  const loss = reduceSum(mul(x, x), undefined, { keepdims: false });
  const weights = g.params.map((p) => p.tensor);
  const grads = gradients(loss, [x0, shared, ...weights]);
  g.output(loss, 'loss');
  grads.forEach((d, k) => g.output(d!, `d${k}`));
  const feeds = {
    x: feed('float32', randn(1, 4 * D), [4, D]),
    shared: feed('float32', randn(2, D), [D]),
    ...Object.fromEntries(
      weights.map((w, k) => [w.name, feed('float32', randn(3 + k, D * D, 0.5), [D, D])]),
    ),
  };
  return { graph: g, loss, out: await evaluate(g, feeds) };
}

describe('checkpoint(x, block)', () => {
  it('gives the same loss and gradients as the block kept whole, to the bit', async () => {
    const whole = await run(false);
    const ck = await run(true);
    expect(Object.keys(ck.out)).toEqual(Object.keys(whole.out));
    for (const name of Object.keys(whole.out))
      expect(ck.out[name].data).toEqual(whole.out[name].data);
  });

  it('keeps only block inputs for the backward pass: no backward node reads a block intermediate', async () => {
    const { graph, loss } = await run(true);
    // The forward nodes are those the loss depends on; each block's intermediates are their
    // outputs that do not leave the block (the next block's input is its output).
    const forward = new Set(graph.liveNodes([loss]));
    const produced = new Map([...forward].flatMap((n) => n.outputs.map((t) => [t, n] as const)));
    const readersOutside = [...graph.nodes]
      .filter((n) => !forward.has(n))
      .flatMap((n) => n.inputs.filter((t): t is Tensor => !!t && produced.has(t)));
    const names = new Set(readersOutside.map((t) => produced.get(t)!.op));
    // What the backward reads of the forward: block inputs/outputs (Add), the loss's square
    // (Mul of x by x) and parameters, never a Tanh, Gemm or normalization inside a block.
    expect(names.has('Tanh')).toBe(false);
    expect(names.has('Gemm')).toBe(false);
    expect(names.has('ReduceMean')).toBe(false);
    expect(readersOutside.length).toBeGreaterThan(0);
  });

  it('has float64 gradients matching finite differences', async () => {
    const worst = await checkGradients(
      ([x, shared, w]) =>
        checkpoint(x, (input) =>
          add(
            input,
            mul(
              tanh(gemm(rmsNorm(input, undefined, 1e-6), w, undefined, { transB: true })),
              shared,
            ),
          ),
        ),
      [
        { name: 'x', shape: [3, D] },
        { name: 'shared', shape: [D] },
        { name: 'w', shape: [D, D] },
      ],
    );
    expect(worst).toBeLessThan(1e-6);
  });

  it('re-runs a block under reuseParams: a name declared again gets the same tensor, another shape fails', () => {
    const g = new Graph();
    const w = g.param('w', [2, 3]);
    expect(() => g.param('w', [2, 3])).toThrow(/already used/);
    expect(g.reuseParams(() => g.param('w', [2, 3]))).toBe(w);
    expect(() => g.reuseParams(() => g.param('w', [3, 2]))).toThrow(/declared as \[2,3\]/);
    expect(g.reuseParams(() => g.param('v', [1]))).toBe(g.paramByName('v')!.tensor);
  });
});
