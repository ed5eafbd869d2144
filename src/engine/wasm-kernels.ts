/**
 * Hand-assembled WebAssembly SIMD kernels for the optimizer's hot loops (no toolchain: the
 * module's bytes are emitted below). Each kernel set owns a memory holding two scratch
 * buffers (parameters and gradients stream through them chunk by chunk, so arenas stay
 * ordinary ArrayBuffers that ORT can read) and, when they fit, the optimizer's moments,
 * which then never leave WebAssembly memory.
 */

/** Floats per scratch buffer (64 KiB): scratch and the moments' chunk stay in L2. */
export const CHUNK = 16384;

const I32 = 0x7f;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));

// Instructions.
const get = (i: number): number[] => [0x20, ...uleb(i)];
const set = (i: number): number[] => [0x21, ...uleb(i)];
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const MEMARG = [4, 0];
const addr = (ptr: number, i: number): number[] => [...get(ptr), ...get(i), 0x6a];
const load = (ptr: number, i: number): number[] => [...addr(ptr, i), ...simd(0x00), ...MEMARG];
const store = (ptr: number, i: number, value: number[]): number[] => [
  ...addr(ptr, i),
  ...value,
  ...simd(0x0b),
  ...MEMARG,
];
const f32x4 = {
  splat: simd(0x13),
  sqrt: simd(0xe3),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  div: simd(0xe7),
};
const f64x2 = { add: simd(0xf0), promoteLow: simd(0x5f), lane: (k: number) => [...simd(0x21), k] };
// prettier-ignore
const highToLow = [...simd(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];

/** `for (i = 0; i < n floats; i += 16 bytes) body`, with local `i` a byte offset. */
function loop(i: number, n: number, body: number[]): number[] {
  // prettier-ignore
  const exitWhenDone = [...get(i), ...get(n), 0x41, 2, 0x74, 0x4f, 0x0d, 1]; // br_if (i >= n << 2)
  const next = [...get(i), 0x41, 16, 0x6a, ...set(i)];
  return [0x02, 0x40, 0x03, 0x40, ...exitWhenDone, ...body, ...next, 0x0c, 0, 0x0b, 0x0b];
}

/** adamw(p, g, m, v, n, decay, b1, 1-b1, b2, 1-b2, stepSize, 1/sqrt(bc2), eps, gradScale). */
function adamwBody(): number[] {
  const [p, g, m, v, n] = [0, 1, 2, 3, 4];
  const scalars = [5, 6, 7, 8, 9, 10, 11, 12, 13];
  const i = 14;
  const [decay, b1, omb1, b2, omb2, step, invBc2, eps, gscale] = scalars.map((_, k) => 15 + k);
  const [gv, mv, vv] = [24, 25, 26];
  const splats = scalars.flatMap((s, k) => [...get(s), ...f32x4.splat, ...set(15 + k)]);
  const mul = (a: number, b: number): number[] => [...get(a), ...get(b), ...f32x4.mul];
  // prettier-ignore
  const body = [
    ...load(g, i), ...get(gscale), ...f32x4.mul, ...set(gv),
    ...load(m, i), ...get(b1), ...f32x4.mul, ...mul(gv, omb1), ...f32x4.add, ...set(mv),
    ...load(v, i), ...get(b2), ...f32x4.mul, ...mul(gv, gv), ...get(omb2), ...f32x4.mul,
    ...f32x4.add, ...set(vv),
    ...store(m, i, get(mv)),
    ...store(v, i, get(vv)),
    // p * decay - (m * stepSize) / (sqrt(v) / sqrt(bc2) + eps) as torch.optim.AdamW, with
    // the bias-correction division done as a multiplication (one division per element).
    ...store(p, i, [
      ...load(p, i), ...get(decay), ...f32x4.mul,
      ...mul(mv, step),
      ...get(vv), ...f32x4.sqrt, ...get(invBc2), ...f32x4.mul, ...get(eps), ...f32x4.add,
      ...f32x4.div, ...f32x4.sub,
    ]),
  ];
  const locals = vec([
    [...uleb(1), I32],
    [...uleb(12), V128],
  ]);
  return [...locals, ...splats, ...loop(i, n, body), 0x0b];
}

/** sumsq(g, n) -> f64: the sum of squares of n floats, accumulated in float64. */
function sumsqBody(): number[] {
  const [g, n, i, acc, sq] = [0, 1, 2, 3, 4];
  // prettier-ignore
  const body = [
    ...load(g, i), ...set(sq),
    ...get(sq), ...get(sq), ...f32x4.mul, ...set(sq),
    ...get(acc), ...get(sq), ...f64x2.promoteLow, ...f64x2.add,
    ...get(sq), ...get(sq), ...highToLow, ...f64x2.promoteLow, ...f64x2.add, ...set(acc),
  ];
  const locals = vec([
    [...uleb(1), I32],
    [...uleb(2), V128],
  ]);
  const total = [...get(acc), ...f64x2.lane(0), ...get(acc), ...f64x2.lane(1), 0xa0];
  return [...locals, ...loop(i, n, body), ...total, 0x0b];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const f32s = Array.from({ length: 9 }, () => [F32]);
  const types = vec([
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], ...f32s]), 0],
    [0x60, ...vec([[I32], [I32]]), ...vec([[F64]])],
  ]);
  const memoryImport = [...name('env'), ...name('memory'), 0x02, 0x00, 1];
  const exports = vec([
    [...name('adamw'), 0x00, 0],
    [...name('sumsq'), 0x00, 1],
  ]);
  const code = [adamwBody(), sumsqBody()].map((b) => [...uleb(b.length), ...b]);
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  return new Uint8Array([
    ...header,
    ...section(1, types),
    ...section(2, vec([memoryImport])),
    ...section(3, vec([[0], [1]])),
    ...section(7, exports),
    ...section(10, vec(code)),
  ]);
}

let compiled: WebAssembly.Module | undefined;

/** A kernel instance: scratch buffers and, optionally, resident moment buffers. */
export interface Kernels {
  /** Scratch for parameters (CHUNK floats). */
  p: Float32Array;
  /** Scratch for gradients (CHUNK floats). */
  g: Float32Array;
  /** Resident buffers (`resident` floats each), e.g. AdamW's two moments. */
  resident: Float32Array[];
  /**
   * One AdamW update of `n` floats (a multiple of 4) of the scratch, with moments at float
   * offset `at` of the resident buffers.
   */
  adamw(n: number, at: number, h: AdamWScalars): void;
  /** Sum of squares of the first `n` floats of the gradient scratch, in float64. */
  sumsq(n: number): number;
}

/** The per-step scalars of an AdamW update. */
export interface AdamWScalars {
  /** `1 - lr * weightDecay` (1 for parameters without decay). */
  decay: number;
  /** First-moment decay. */
  beta1: number;
  /** Second-moment decay. */
  beta2: number;
  /** `lr / (1 - beta1^t)`. */
  stepSize: number;
  /** `sqrt(1 - beta2^t)`. */
  bc2Sqrt: number;
  /** Denominator epsilon. */
  eps: number;
  /** Gradient multiplier (clipping). */
  gradScale: number;
}

/**
 * Instantiates the kernels with `residentBuffers` buffers of `residentFloats` floats in their
 * memory (compiling the module once per thread). Throws a RangeError when the memory would
 * exceed what WebAssembly allows; callers then fall back to streaming.
 */
export function createKernels(residentBuffers: number, residentFloats: number): Kernels {
  compiled ??= new WebAssembly.Module(moduleBytes());
  const floats = 2 * CHUNK + residentBuffers * residentFloats;
  const pages = Math.ceil((floats * 4) / 65536);
  if (pages > 32768)
    throw new RangeError(`optimizer state of ${floats} floats exceeds WebAssembly's 2 GiB`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const ex = new WebAssembly.Instance(compiled, { env: { memory } }).exports as {
    adamw: (...args: number[]) => void;
    sumsq: (g: number, n: number) => number;
  };
  const view = (floatOffset: number, length: number): Float32Array =>
    new Float32Array(memory.buffer, floatOffset * 4, length);
  const resident = Array.from({ length: residentBuffers }, (_, k) =>
    view(2 * CHUNK + k * residentFloats, residentFloats),
  );
  const byteOf = (k: number, at: number): number => (2 * CHUNK + k * residentFloats + at) * 4;
  return {
    p: view(0, CHUNK),
    g: view(CHUNK, CHUNK),
    resident,
    adamw: (n, at, h) =>
      ex.adamw(
        0,
        CHUNK * 4,
        byteOf(0, at),
        byteOf(1, at),
        n,
        h.decay,
        h.beta1,
        1 - h.beta1,
        h.beta2,
        1 - h.beta2,
        h.stepSize,
        1 / h.bc2Sqrt,
        h.eps,
        h.gradScale,
      ),
    sumsq: (n) => ex.sumsq(CHUNK * 4, n),
  };
}

let shared: Kernels | undefined;

/** A per-thread kernel instance without resident buffers (norms; streamed moments). */
export function scratchKernels(): Kernels {
  shared ??= createKernels(2, CHUNK);
  return shared;
}
