import { Rng } from '../core/rng.ts';
import type { DType, Graph } from './graph.ts';
import { OrtTensorClass, Session, type OrtTensor } from './session.ts';

/** Numbers for a feed: plain numbers (converted to the dtype) or a typed array. */
export type FeedData =
  readonly number[] | Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** An ORT tensor from numbers. */
export function feed(dtype: DType, data: FeedData, dims: readonly number[]): OrtTensor {
  const arr =
    dtype === 'int64'
      ? data instanceof BigInt64Array
        ? data
        : BigInt64Array.from(data as readonly number[], (v) => BigInt(v))
      : dtype === 'float64'
        ? Float64Array.from(data as ArrayLike<number>)
        : dtype === 'int32'
          ? Int32Array.from(data as ArrayLike<number>)
          : dtype === 'bool'
            ? Uint8Array.from(data as ArrayLike<number>)
            : Float32Array.from(data as ArrayLike<number>);
  return new OrtTensorClass(dtype === 'bool' ? 'bool' : dtype, arr, [...dims]);
}

/** The values of an output as plain numbers. */
export function numbers(t: OrtTensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** Compiles `graph` on CPU (2 threads, cached) and runs it, returning every output as numbers. */
export async function evaluate(
  graph: Graph,
  feeds: Record<string, OrtTensor>,
): Promise<Record<string, { data: number[]; dims: readonly number[] }>> {
  const session = await Session.create(graph, { threads: 2 });
  const out = await session.run(feeds);
  return Object.fromEntries(
    Object.entries(out).map(([k, v]) => [k, { data: numbers(v), dims: v.dims }]),
  );
}

/** `n` normal draws with standard deviation `std` from a seeded generator. */
export function randn(seed: number | string, n: number, std = 1): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.normal() * std);
}

/** Largest absolute difference between two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
