import { readFileSync } from 'node:fs';
import { Rng } from '../core/rng.ts';
import { gradients } from './autodiff.ts';
import { numel, type Dim } from './dims.ts';
import { Graph, isFloat, type DType, type Tensor } from './graph.ts';
import { mul } from './ops-math.ts';
import { reduceSum } from './ops-nn.ts';
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

/** One input of a {@link checkGradients} graph. */
export interface CheckInput {
  /** Input name. */
  name: string;
  /** Declared (possibly symbolic) shape. */
  shape: readonly Dim[];
  /** Concrete dims fed at run time (default: `shape`, which must then be static). */
  dims?: readonly number[];
  /** Element type (default: the check's float dtype). */
  dtype?: DType;
  /** Values (default: seeded normal draws). */
  data?: readonly number[];
}

/** Options for {@link checkGradients}. */
export interface CheckOptions {
  /** Float dtype of the graph (default float64). */
  dtype?: 'float64' | 'float32';
  /** Finite-difference step (default 1e-6 for float64, 1e-2 for float32). */
  eps?: number;
  /** Seed of the random inputs and output weights. */
  seed?: number;
}

/**
 * Compares autodiff gradients of `sum(build(inputs) * R)` (R random) with central finite
 * differences, for every float input. Returns the worst error relative to the largest
 * gradient magnitude of each input.
 */
export async function checkGradients(
  build: (inputs: Tensor[]) => Tensor,
  inputs: readonly CheckInput[],
  options: CheckOptions = {},
): Promise<number> {
  const dtype = options.dtype ?? 'float64';
  const eps = options.eps ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const seed = options.seed ?? 1;
  const declare = (g: Graph): Tensor[] =>
    inputs.map((i) => g.input(i.name, i.dtype ?? dtype, i.shape));
  const values = inputs.map(
    (i, k) => i.data ?? randn(seed * 100 + k, numel(i.dims ?? (i.shape as number[]))),
  );
  const feeds = (vals: readonly (readonly number[])[]): Record<string, OrtTensor> =>
    Object.fromEntries(
      inputs.map((i, k) => [
        i.name,
        feed(i.dtype ?? dtype, vals[k], i.dims ?? (i.shape as number[])),
      ]),
    );

  const probe = new Graph();
  probe.output(build(declare(probe)), '__out');
  const yDims = (await evaluate(probe, feeds(values))).__out.dims;
  const weights = randn(seed + 7, numel(yDims));

  const g = new Graph();
  const ts = declare(g);
  const y = build(ts);
  const loss = reduceSum(mul(y, g.input('__R', y.dtype, y.shape)), undefined, { keepdims: false });
  g.output(loss, 'loss');
  const diff = inputs.map((_, k) => k).filter((k) => isFloat(ts[k].dtype));
  const grads = gradients(
    loss,
    diff.map((k) => ts[k]),
  );
  grads.forEach((gr, j) => gr && g.output(gr, `__grad_${j}`));
  const session = await Session.create(g, { threads: 1 });
  const run = async (vals: number[][]): Promise<Record<string, OrtTensor>> =>
    session.run({ ...feeds(vals), __R: feed(y.dtype, weights, yDims) });
  const base = await run(values.map((v) => [...v]));

  let worst = 0;
  for (const [j, k] of diff.entries()) {
    const analytic = grads[j]
      ? numbers(base[`__grad_${j}`])
      : new Array<number>(values[k].length).fill(0);
    const numeric: number[] = [];
    for (let e = 0; e < values[k].length; e++) {
      const at = (delta: number): number[][] =>
        values.map((v, m) => (m === k ? v.map((x, i) => (i === e ? x + delta : x)) : [...v]));
      const plus = numbers((await run(at(eps))).loss)[0];
      const minus = numbers((await run(at(-eps))).loss)[0];
      numeric.push((plus - minus) / (2 * eps));
    }
    const scale = Math.max(1e-3, ...numeric.map(Math.abs));
    worst = Math.max(worst, maxAbsDiff(analytic, numeric) / scale);
  }
  await session.dispose();
  return worst;
}

/** A tensor stored by scripts/fixtures/engine_parity.py (base64 little-endian values). */
export interface Stored {
  /** Dims. */
  shape: number[];
  /** Element type. */
  dtype: 'float32' | 'float64' | 'int64';
  /** Base64 of the raw values. */
  data: string;
}

/** Reads a JSON fixture from src/engine/fixtures. */
export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** The values of a stored tensor as numbers. */
export function decode(s: Stored): number[] {
  const bytes = Buffer.from(s.data, 'base64');
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const arr =
    s.dtype === 'float32'
      ? new Float32Array(buf)
      : s.dtype === 'float64'
        ? new Float64Array(buf)
        : new BigInt64Array(buf);
  return Array.from(arr as ArrayLike<number | bigint>, Number);
}
