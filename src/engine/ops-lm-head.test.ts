import { describe, expect, it } from 'vitest';
import { gradients } from './autodiff.ts';
import { Graph, type Node, type Tensor } from './graph.ts';
import { lmHeadCrossEntropy } from './ops-lm-head.ts';
import { crossEntropy, gemm, reduceSum } from './ops-nn.ts';
import { checkGradients, evaluate, feed, maxAbsDiff, randn } from './testing.ts';

const N = 6;
const D = 4;
const V = 11;
const TARGETS = [3, -100, 10, 0, -100, 7];

/** Loss and gradients of the summed head loss, by the op (`chunk`) or by full logits. */
async function run(chunk: number | 'full', fuseHiddenGrad = false) {
  const g = new Graph();
  const h = g.input('h', 'float32', ['N', D]);
  const w = g.input('w', 'float32', [V, D]);
  const t = g.input('t', 'int64', ['N']);
  const losses =
    chunk === 'full'
      ? crossEntropy(gemm(h, w, undefined, { transB: true }), t, { reduction: 'none' })
      : lmHeadCrossEntropy(h, w, t, { chunk, fuseHiddenGrad });
  const loss = reduceSum(losses, undefined, { keepdims: false });
  const [dh, dw] = gradients(loss, [h, w]);
  g.output(losses, 'losses');
  g.output(dh!, 'dh');
  g.output(dw!, 'dw');
  const out = await evaluate(g, {
    h: feed('float32', randn(1, N * D), [N, D]),
    w: feed('float32', randn(2, V * D), [V, D]),
    t: feed('int64', TARGETS, [N]),
  });
  return { losses: out.losses.data, dh: out.dh.data, dw: out.dw.data };
}

describe('lmHeadCrossEntropy', () => {
  it('gives the full-logits cross-entropy and its gradients, in one chunk or many', async () => {
    const full = await run('full');
    expect(full.losses[1]).toBe(0);
    for (const [chunk, fuse] of [
      [V, false],
      [4, false],
      [1, false],
      [4, true],
      [1, true],
    ] as const) {
      const c = await run(chunk, fuse);
      expect(c.losses[1]).toBe(0);
      expect(c.losses[4]).toBe(0);
      expect(maxAbsDiff(c.losses, full.losses)).toBeLessThan(1e-5);
      expect(maxAbsDiff(c.dh, full.dh)).toBeLessThan(1e-5);
      expect(maxAbsDiff(c.dw, full.dw)).toBeLessThan(1e-5);
    }
    // One chunk is the same float math as crossEntropy over full logits, to the bit.
    expect(await run(64)).toEqual(full);
  });

  it('has float64 gradients matching finite differences (chunked, fused and whole)', async () => {
    for (const [chunk, fuseHiddenGrad] of [
      [3, false],
      [3, true],
      [V, false],
    ] as const) {
      const worst = await checkGradients(
        ([h, w, t]) => lmHeadCrossEntropy(h, w, t, { chunk, fuseHiddenGrad }),
        [
          { name: 'h', shape: ['N', D], dims: [N, D] },
          { name: 'w', shape: [V, D] },
          { name: 't', shape: ['N'], dims: [N], dtype: 'int64', data: TARGETS },
        ],
      );
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it("copies no chunk of the weight before the previous chunk's copy is used up", () => {
    // ORT runs any node whose inputs exist: a slice that needed only the weight and the targets
    // could run at once, and it held all of them (the whole head) at the forward's peak.
    for (const fuseHiddenGrad of [false, true]) {
      const g = new Graph();
      const h = g.input('h', 'float32', ['N', D]);
      const w = g.input('w', 'float32', [V, D]);
      const t = g.input('t', 'int64', ['N']);
      lmHeadCrossEntropy(h, w, t, { chunk: 4, fuseHiddenGrad });
      const slices = g.nodes.filter((n) => n.op === 'Slice' && n.inputs[0] === w);
      expect(slices).toHaveLength(3);
      const consumers = (x: Tensor) => g.nodes.filter((n) => n.inputs.includes(x));
      for (let c = 1; c < slices.length; c++) {
        const before = ancestors(slices[c].outputs[0]);
        // Every use of the previous chunk (through its reshape) comes first.
        const uses = consumers(slices[c - 1].outputs[0]).flatMap((r) => consumers(r.outputs[0]));
        expect(uses.length).toBeGreaterThanOrEqual(fuseHiddenGrad ? 2 : 1);
        for (const u of uses) expect(before.has(u)).toBe(true);
      }
    }
  });

  it('scores nothing when every target is ignored', async () => {
    const g = new Graph();
    const h = g.input('h', 'float32', [2, D]);
    const w = g.input('w', 'float32', [V, D]);
    const t = g.input('t', 'int64', [2]);
    const losses = lmHeadCrossEntropy(h, w, t, { chunk: 4 });
    g.output(losses, 'losses');
    g.output(gradients(reduceSum(losses, undefined, { keepdims: false }), [h])[0]!, 'dh');
    const out = await evaluate(g, {
      h: feed('float32', randn(3, 2 * D), [2, D]),
      w: feed('float32', randn(4, V * D), [V, D]),
      t: feed('int64', [-100, -100], [2]),
    });
    expect(out.losses.data).toEqual([0, 0]);
    expect(out.dh.data.every((x) => x === 0)).toBe(true);
  });

  it('names what is wrong with its operands', () => {
    const g = new Graph();
    const h = g.input('h', 'float32', ['N', D]);
    const w = g.input('w', 'float32', [V, D + 1]);
    const t = g.input('t', 'int64', ['N']);
    expect(() => lmHeadCrossEntropy(h, w, t)).toThrow(/weight w: float32\[11,5\].*h: float32/);
    const w2 = g.input('w2', 'float32', [V, D]);
    expect(() => lmHeadCrossEntropy(h, w2, t, { chunk: 0 })).toThrow(/chunk must be a positive/);
  });
});

/** Every node `t` depends on. */
function ancestors(t: Tensor): Set<Node> {
  const seen = new Set<Node>();
  const stack = [t];
  while (stack.length > 0) {
    const node = stack.pop()!.producer;
    if (!node || seen.has(node)) continue;
    seen.add(node);
    for (const i of node.inputs) if (i) stack.push(i);
  }
  return seen;
}
