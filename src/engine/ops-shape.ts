import {
  broadcastShapes,
  dimAdd,
  dimDiv,
  dimProduct,
  formatShape,
  normalizeAxis,
  unknownDim,
  type Dim,
  type Shape,
} from './dims.ts';
import { graphOf, int, ints, Tensor, type Attr, type Graph } from './graph.ts';

/** Normalizes an axis or throws naming the op and the tensor. */
export function axisOf(op: string, axis: number, x: Tensor | number): number {
  const rank = typeof x === 'number' ? x : x.rank;
  const a = normalizeAxis(axis, rank);
  if (a === undefined)
    throw new Error(
      `${op}: axis ${axis} out of range for rank ${rank}${typeof x === 'number' ? '' : ` (${x})`}`,
    );
  return a;
}

/** A 1-D int64 tensor from numbers, or the tensor itself. */
export function int64Arg(g: Graph, v: Tensor | readonly number[]): Tensor {
  return v instanceof Tensor ? v : g.int64s(v);
}

/** The runtime shape of `x` (or of dims `start..end`) as a 1-D int64 tensor. */
export function shape(x: Tensor, start = 0, end = x.rank): Tensor {
  const s = axisOf('shape', start, x.rank + 1);
  const e = end === x.rank ? x.rank : axisOf('shape', end, x.rank + 1);
  const dims = x.shape.slice(s, e);
  const attrs: Record<string, Attr> = {};
  if (s !== 0) attrs.start = int(s);
  if (e !== x.rank) attrs.end = int(e);
  const t = x.graph.addNode('Shape', [x], attrs, [{ dtype: 'int64', shape: [dims.length] }])[0];
  t.value = dims;
  return t;
}

/** The size of axis `axis` of `x` as a 1-element int64 tensor (a constant when static). */
export function dimOf(x: Tensor, axis: number): Tensor {
  const a = axisOf('dimOf', axis, x);
  const d = x.shape[a];
  return typeof d === 'number' ? x.graph.int64s([d]) : shape(x, a, a + 1);
}

/**
 * A 1-D int64 shape tensor built from known sizes and 1-element int64 tensors (e.g. from
 * {@link dimOf}); for `reshape`/`expand` targets with symbolic sizes.
 */
export function sizes(parts: readonly (number | Tensor)[]): Tensor {
  const g = graphOf('sizes', parts);
  const pieces = parts.map((p) => (p instanceof Tensor ? p : g.int64s([p])));
  return concat(pieces, 0);
}

/**
 * Reshapes `x`. Target entries: sizes, `0` (keep the input's size at that position), `-1`
 * (infer), or a symbol equal to the input's dim at the same position; or a 1-D int64 tensor.
 */
export function reshape(x: Tensor, target: readonly Dim[] | Tensor): Tensor {
  const g = x.graph;
  let spec: readonly Dim[];
  let shapeTensor: Tensor;
  if (target instanceof Tensor) {
    if (target.rank !== 1 || typeof target.shape[0] !== 'number') {
      throw new Error(`reshape: shape tensor must be 1-D with a known length, got ${target}`);
    }
    spec = target.value ?? Array.from({ length: target.shape[0] }, () => unknownDim());
    shapeTensor = target;
  } else {
    const codes = target.map((d, i) => {
      if (typeof d === 'number') return d;
      if (x.shape[i] === d) return 0;
      throw new Error(
        `reshape: symbolic size '${d}' at position ${i} is not the input's dim there (${formatShape(x.shape)}); use 0, -1 or a shape tensor`,
      );
    });
    spec = target.map((d, i) => (d === 0 ? x.shape[i] : d));
    shapeTensor = g.int64s(codes);
  }
  const out = resolveReshape(x.shape, spec);
  if (!out)
    throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} to ${formatShape(spec)}`);
  return g.addNode('Reshape', [x, shapeTensor], {}, [{ dtype: x.dtype, shape: out }])[0];
}

function resolveReshape(input: Shape, spec: readonly Dim[]): Dim[] | undefined {
  const inferAt = spec.indexOf(-1);
  if (spec.lastIndexOf(-1) !== inferAt) return undefined;
  const total = dimProduct(input);
  if (inferAt < 0) {
    const known = dimProduct(spec);
    if (typeof known === 'number' && typeof total === 'number' && known !== total) return undefined;
    return [...spec];
  }
  const rest = dimProduct(spec.filter((_, i) => i !== inferAt));
  const inferred = dimDiv(total, rest);
  return spec.map((d, i) => (i === inferAt ? inferred : d));
}

/** Permutes axes (default: reverses them). */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new Error(
      `transpose: perm [${p.join(',')}] is not a permutation of ${x.rank} axes (${x})`,
    );
  }
  return x.graph.addNode('Transpose', [x], { perm: ints(p) }, [
    { dtype: x.dtype, shape: p.map((i) => x.shape[i]) },
  ])[0];
}

/** Removes the given size-1 axes. */
export function squeeze(x: Tensor, axes: readonly number[]): Tensor {
  const norm = axes.map((a) => axisOf('squeeze', a, x));
  for (const a of norm) {
    if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${a} of ${formatShape(x.shape)} is not 1`);
  }
  const out = x.shape.filter((_, i) => !norm.includes(i));
  const t = x.graph.addNode('Squeeze', [x, x.graph.int64s(norm)], {}, [
    { dtype: x.dtype, shape: out },
  ])[0];
  if (x.value) t.value = x.value;
  return t;
}

/** Inserts size-1 axes at the given positions of the output. */
export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank + axes.length;
  const norm = axes.map((a) => axisOf('unsqueeze', a, rank));
  const out: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : x.shape[j++]);
  const t = x.graph.addNode('Unsqueeze', [x, x.graph.int64s(norm)], {}, [
    { dtype: x.dtype, shape: out },
  ])[0];
  if (x.value && x.rank === 0) t.value = x.value;
  return t;
}

/** Joins tensors along an axis. */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new Error('concat: no tensors');
  const first = tensors[0];
  const a = axisOf('concat', axis, first);
  const out: Dim[] = [...first.shape];
  for (const t of tensors.slice(1)) {
    if (t.rank !== first.rank || t.dtype !== first.dtype) {
      throw new Error(`concat: ${t} does not match ${first}`);
    }
    t.shape.forEach((d, i) => {
      if (i === a) out[i] = dimAdd(out[i], d);
      else if (typeof d === 'number' && typeof out[i] === 'number' && d !== out[i]) {
        throw new Error(
          `concat: dim ${i} differs: ${formatShape(first.shape)} vs ${formatShape(t.shape)}`,
        );
      }
    });
  }
  if (tensors.length === 1) return first;
  const t = first.graph.addNode('Concat', tensors, { axis: int(a) }, [
    { dtype: first.dtype, shape: out },
  ])[0];
  if (first.dtype === 'int64' && tensors.every((x) => x.value))
    t.value = tensors.flatMap((x) => x.value!);
  return t;
}

/** Splits along an axis into pieces of the given sizes, or into `count` equal pieces. */
export function split(x: Tensor, parts: readonly number[] | number, axis: number): Tensor[] {
  const a = axisOf('split', axis, x);
  const d = x.shape[a];
  const g = x.graph;
  const outShape = (size: Dim): Dim[] => x.shape.map((v, i) => (i === a ? size : v));
  if (typeof parts === 'number') {
    if (typeof d === 'number' && d % parts !== 0)
      throw new Error(`split: ${parts} does not divide ${d} (${x})`);
    const size = dimDiv(d, parts);
    return g.addNode(
      'Split',
      [x],
      { axis: int(a), num_outputs: int(parts) },
      Array.from({ length: parts }, () => ({ dtype: x.dtype, shape: outShape(size) })),
    );
  }
  const total = parts.reduce((s, v) => s + v, 0);
  if (typeof d === 'number' && total !== d)
    throw new Error(`split: sizes [${parts.join(',')}] do not add up to ${d} (${x})`);
  return g.addNode(
    'Split',
    [x, g.int64s(parts)],
    { axis: int(a) },
    parts.map((p) => ({ dtype: x.dtype, shape: outShape(p) })),
  );
}

/** Broadcasts `x` to a target shape (numpy rules: a 1 in the target keeps the input's size). */
export function expand(x: Tensor, target: readonly number[] | Tensor): Tensor {
  const g = x.graph;
  const spec: readonly Dim[] =
    target instanceof Tensor
      ? (target.value ?? Array.from({ length: Number(target.shape[0]) }, () => unknownDim()))
      : target;
  const out = broadcastShapes(x.shape, spec);
  if (!out)
    throw new Error(`expand: cannot broadcast ${formatShape(x.shape)} to ${formatShape(spec)}`);
  return g.addNode('Expand', [x, int64Arg(g, target as readonly number[] | Tensor)], {}, [
    { dtype: x.dtype, shape: out },
  ])[0];
}

/** Reshapes `x` to the (runtime) shape of `ref`; a constant target when `ref` is static. */
export function reshapeLike(x: Tensor, ref: Tensor): Tensor {
  if (x.shape.length === ref.shape.length && x.shape.every((d, i) => d === ref.shape[i])) return x;
  const target = ref.shape.every((d) => typeof d === 'number')
    ? (ref.shape as number[])
    : shape(ref);
  return reshape(x, target);
}

/** Flattens to 2-D: `[prod(dims before axis), prod(dims from axis)]`. */
export function flatten(x: Tensor, axis = 1): Tensor {
  const a = axis === x.rank ? axis : axisOf('flatten', axis, x);
  const out = [dimProduct(x.shape.slice(0, a)), dimProduct(x.shape.slice(a))];
  return x.graph.addNode('Flatten', [x], { axis: int(a) }, [{ dtype: x.dtype, shape: out }])[0];
}
