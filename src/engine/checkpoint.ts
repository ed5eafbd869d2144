import { gradients } from './autodiff.ts';
import { defineGradient, isFloat, type Tensor } from './graph.ts';
import { gather } from './ops-index.ts';
import { add, cast, equal, mul } from './ops-math.ts';
import { reshape } from './ops-shape.ts';

/**
 * Gradient checkpointing: `block(x)`, whose intermediate tensors are not kept for the backward
 * pass. Its gradient builds the block again on `x` and differentiates that copy, so a training
 * step holds one block's activations at a time instead of every block's, for one more forward
 * pass of each block. The copy's input waits on the gradient arriving at the block's output,
 * since ONNX Runtime would otherwise be free to run it during the forward pass and keep it.
 * `block` may read parameters and other tensors from outside, and must build the same thing
 * twice (it runs under {@link Graph.reuseParams}; seeded random ops would draw anew).
 */
export function checkpoint(x: Tensor, block: (x: Tensor) => Tensor): Tensor {
  const g = x.graph;
  const first = g.nodes.length;
  const y = block(x);
  const made = g.nodes.slice(first);
  const inside = new Set(made.flatMap((n) => n.outputs));
  const reads = new Set<Tensor>();
  for (const node of made)
    for (const t of node.inputs)
      if (t && t !== x && !inside.has(t) && isFloat(t.dtype)) reads.add(t);
  const outside = [...reads];
  defineGradient({
    name: 'checkpoint',
    inputs: [x, ...outside],
    outputs: [y],
    backward([gy], needs) {
      if (!gy) return [];
      const again = add(x, after(gy)); // x, built only once gy exists
      const copy = g.reuseParams(() => block(again));
      const wanted = [
        needs[0] ? again : undefined,
        ...outside.map((t, k) => (needs[k + 1] ? t : undefined)),
      ];
      const asked = wanted.filter((t): t is Tensor => t !== undefined);
      // Leaves: the caller's autodiff carries these gradients on into x's and the reads' past.
      const grads = gradients(copy, asked, { seed: gy, leaves: true });
      // The gradient passed down waits on this block's parameter gradients: ORT would otherwise
      // compute those last, holding every block's copy until the end of the backward pass.
      const own = grads.filter((d, k) => d && asked[k] !== again) as Tensor[];
      return wanted.map((t) => {
        if (!t) return undefined;
        const d = grads[asked.indexOf(t)];
        return t === again && d && own.length > 0 ? add(d, after(...own)) : d;
      });
    },
  });
  return y;
}

/**
 * A zero of `ts[0]`'s type that exists only once every tensor in `ts` does (built from one element
 * of each, through a boolean, so it carries no gradient and is zero even for NaN).
 */
function after(...ts: Tensor[]): Tensor {
  const firsts = ts.map((t) => gather(reshape(t, [-1]), 0));
  const sum = firsts.reduce((a, b) => add(a, b));
  return mul(cast(equal(sum, sum), ts[0].dtype), 0);
}
