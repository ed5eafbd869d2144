import { isStatic, type Shape } from './dims.ts';
import type { Node, Tensor } from './graph.ts';
import { reduceSum, sumRows } from './ops-nn.ts';
import { expand, reshape, shape, squeeze } from './ops-shape.ts';

/**
 * A gradient rule for one primitive op: given the node and one gradient per output
 * (undefined for outputs that do not reach the loss), returns one gradient per input,
 * computing only those flagged in `needs`.
 */
export type GradRule = (
  node: Node,
  grads: readonly (Tensor | undefined)[],
  needs: readonly boolean[],
) => (Tensor | undefined)[];

/**
 * Sums a broadcast result's gradient back to an operand's shape: over extra leading axes
 * and over axes where the operand is statically 1 and the result is not.
 */
export function sumToShape(g: Tensor, target: Shape): Tensor {
  const lead = g.rank - target.length;
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) axes.push(i);
  target.forEach((d, i) => {
    if (d === 1 && g.shape[i + lead] !== 1) axes.push(i + lead);
  });
  if (axes.length === 0) return g;
  const last = g.rank - 1;
  if (axes.length === last && !axes.includes(last) && target.slice(0, -1).every((d) => d === 1)) {
    const rows = sumRows(g);
    return target.length === 1
      ? rows
      : reshape(
          rows,
          target.map((d) => (d === 1 ? 1 : -1)),
        );
  }
  const reduced = reduceSum(g, axes, { keepdims: true });
  return lead > 0 ? squeeze(reduced, axes.slice(0, lead)) : reduced;
}

/** Broadcasts `g` up to the runtime shape of `like` (the reverse of a reduction). */
export function expandLike(g: Tensor, like: Tensor): Tensor {
  return expand(g, isStatic(like.shape) ? like.shape : shape(like));
}

/** The known scalar value of a constant tensor, if it is one. */
export function constantScalar(t: Tensor | undefined): number | undefined {
  if (!t) return undefined;
  const c = t.graph.constants.get(t);
  return c && c.data.length === 1 ? Number(c.data[0]) : undefined;
}

/** The integer values of an int64 node input known at build time (axes, sizes). */
export function knownInts(t: Tensor | undefined): number[] | undefined {
  if (!t?.value) return undefined;
  return t.value.every((v) => typeof v === 'number') ? (t.value as number[]) : undefined;
}

/** The value of an int attribute, or a default. */
export function intAttr(node: Node, name: string, fallback: number): number {
  const a = node.attrs[name];
  return a && a.kind === 'int' ? a.value : fallback;
}

/** The value of an ints attribute, or undefined. */
export function intsAttr(node: Node, name: string): readonly number[] | undefined {
  const a = node.attrs[name];
  return a && a.kind === 'ints' ? a.value : undefined;
}
