import { dimSub, unknownDim, type Dim } from './dims.ts';
import { graphOf, int, Tensor, type Attr, type DType } from './graph.ts';
import { axisOf, int64Arg, shape } from './ops-shape.ts';
import { toTypedData } from './typed-data.ts';

const BIG = 2 ** 62;

/**
 * Takes `x[starts:ends:steps]` along `axes` (default: the first `starts.length` axes). Sizes
 * are inferred at build time when the bounds are numbers; tensor bounds give unknown sizes.
 */
export function slice(
  x: Tensor,
  starts: readonly number[] | Tensor,
  ends: readonly number[] | Tensor,
  axes?: readonly number[],
  steps?: readonly number[],
): Tensor {
  const g = x.graph;
  const n = starts instanceof Tensor ? Number(starts.shape[0]) : starts.length;
  const ax = (axes ?? Array.from({ length: n }, (_, i) => i)).map((v) => axisOf('slice', v, x));
  const out: Dim[] = [...x.shape];
  ax.forEach((axis, k) => {
    const s = starts instanceof Tensor ? undefined : starts[k];
    const e = ends instanceof Tensor ? undefined : ends[k];
    out[axis] = sliceSize(x.shape[axis], s, e, steps?.[k] ?? 1);
  });
  const inputs = [x, int64Arg(g, starts), int64Arg(g, ends), g.int64s(ax)];
  if (steps) inputs.push(g.int64s(steps));
  const t = g.addNode('Slice', inputs, {}, [{ dtype: x.dtype, shape: out }])[0];
  if (
    x.value &&
    ax.length === 1 &&
    !(starts instanceof Tensor) &&
    !(ends instanceof Tensor) &&
    (steps?.[0] ?? 1) === 1
  ) {
    const len = x.value.length;
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + len : v, 0), len);
    t.value = x.value.slice(clamp(starts[0]), clamp(ends[0]));
  }
  return t;
}

function sliceSize(d: Dim, start: number | undefined, end: number | undefined, step: number): Dim {
  if (start === undefined || end === undefined) return unknownDim();
  if (typeof d === 'number') {
    const norm = (v: number): number =>
      v < 0 ? Math.max(v + d, step > 0 ? 0 : -1) : Math.min(v, step > 0 ? d : d - 1);
    const s = norm(start);
    const e = norm(end);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  if (step !== 1) return unknownDim();
  if (start === 0 && end >= BIG / 2) return d;
  if (start >= 0 && end >= BIG / 2) return dimSub(d, start);
  if (start < 0 && end >= BIG / 2) return -start;
  if (start >= 0 && end >= 0) return end - start;
  return unknownDim();
}

/** The largest slice bound: `slice(x, [1], [END])` runs to the end of the axis. */
export const END = BIG;

/** Picks entries of `data` along `axis` by integer `indices` (embedding lookup for axis 0). */
export function gather(
  data: Tensor,
  indices: Tensor | number | readonly number[],
  axis = 0,
): Tensor {
  const g = data.graph;
  const idx =
    typeof indices === 'number'
      ? g.constant([indices], 'int64', [])
      : indices instanceof Tensor
        ? indices
        : g.int64s(indices);
  if (idx.dtype !== 'int64' && idx.dtype !== 'int32')
    throw new Error(`gather: indices must be int64 or int32, got ${idx}`);
  const a = axisOf('gather', axis, data);
  const out = [...data.shape.slice(0, a), ...idx.shape, ...data.shape.slice(a + 1)];
  const t = g.addNode('Gather', [data, idx], { axis: int(a) }, [
    { dtype: data.dtype, shape: out },
  ])[0];
  if (data.value && idx.value && data.rank === 1) {
    t.value = idx.value.map(
      (i) => data.value![typeof i === 'number' ? (i < 0 ? i + data.value!.length : i) : 0],
    );
  }
  return t;
}

/** `out[i][j] = data[i][indices[i][j]]` along `axis` (output has the indices' shape). */
export function gatherElements(data: Tensor, indices: Tensor, axis: number): Tensor {
  const a = axisOf('gatherElements', axis, data);
  if (indices.rank !== data.rank)
    throw new Error(`gatherElements: ranks differ: ${data} and ${indices}`);
  return data.graph.addNode('GatherElements', [data, indices], { axis: int(a) }, [
    { dtype: data.dtype, shape: indices.shape },
  ])[0];
}

/** Keeps the lower (or upper) triangle of the last two axes, offset by diagonal `k`. */
export function trilu(x: Tensor, options: { upper?: boolean; k?: number | Tensor } = {}): Tensor {
  const g = x.graph;
  const k =
    options.k === undefined
      ? undefined
      : options.k instanceof Tensor
        ? options.k
        : g.scalar(options.k, 'int64');
  return g.addNode('Trilu', k ? [x, k] : [x], { upper: int(options.upper ? 1 : 0) }, [
    { dtype: x.dtype, shape: x.shape },
  ])[0];
}

/** `[start, start+delta, ...)` below `limit` as a 1-D tensor (scalars or numbers). */
export function range(
  start: Tensor | number,
  limit: Tensor | number,
  delta: Tensor | number = 1,
  dtype: DType = 'int64',
): Tensor {
  const g = graphOf('range', [start, limit, delta]);
  const lift = (v: Tensor | number): Tensor => (v instanceof Tensor ? v : g.scalar(v, dtype));
  const [s, l, d] = [lift(start), lift(limit), lift(delta)];
  const len: Dim =
    typeof start === 'number' && typeof limit === 'number' && typeof delta === 'number'
      ? Math.max(0, Math.ceil((limit - start) / delta))
      : start === 0 && delta === 1 && l.value?.length === 1
        ? l.value[0]
        : unknownDim();
  return g.addNode('Range', [s, l, d], {}, [{ dtype: s.dtype, shape: [len] }])[0];
}

/** A tensor of the given (int64 1-D) shape filled with `value`. */
export function constantOfShape(shapeTensor: Tensor, value: number, dtype: DType): Tensor {
  const g = shapeTensor.graph;
  const dims =
    shapeTensor.value ?? Array.from({ length: Number(shapeTensor.shape[0]) }, () => unknownDim());
  const fill: Attr = {
    kind: 'tensor',
    value: { dtype, shape: [1], data: toTypedData([value], dtype) },
  };
  return g.addNode('ConstantOfShape', [shapeTensor], { value: fill }, [{ dtype, shape: dims }])[0];
}

/** Zeros shaped like `x` (a constant-shaped fill when `x` is static). */
export function zerosLike(x: Tensor): Tensor {
  const s = x.shape.every((d) => typeof d === 'number')
    ? x.graph.int64s(x.shape as number[])
    : shape(x);
  return constantOfShape(s, 0, x.dtype);
}
