/**
 * Hand-assembled WebAssembly SIMD kernels for the optimizer's hot loops (no toolchain: the
 * module's bytes are emitted below). The kernels work on a small scratch in their own memory;
 * callers stream arena chunks through it, which keeps arenas ordinary ArrayBuffers (no 4 GB
 * WebAssembly limit, usable as ORT tensors) at the cost of in-cache copies.
 */

/** Floats per scratch buffer (64 KiB): four of them stay in L2. */
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

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function str(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

// Instructions.
const localGet = (i: number): number[] => [0x20, ...uleb(i)];
const localSet = (i: number): number[] => [0x21, ...uleb(i)];
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const load = (ptr: number, i: number): number[] => [
  ...localGet(ptr),
  ...localGet(i),
  0x6a,
  ...simd(0x00),
  4,
  0,
];
const store = (ptr: number, i: number, value: number[]): number[] => [
  ...localGet(ptr),
  ...localGet(i),
  0x6a,
  ...value,
  ...simd(0x0b),
  4,
  0,
];
const f32x4 = {
  splat: simd(0x13),
  sqrt: simd(0xe3),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  div: simd(0xe7),
};
const f64x2 = {
  add: simd(0xf0),
  promoteLow: simd(0x5f),
  extract: (lane: number) => [...simd(0x21), lane],
};
const highToLow = [...simd(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];

/** `for (i = 0; i < n*4 bytes; i += 16) body` where local `i` is the byte offset. */
function loop(i: number, n: number, body: number[]): number[] {
  return [
    0x02,
    0x40,
    0x03,
    0x40,
    ...localGet(i),
    ...localGet(n),
    0x41,
    2,
    0x74,
    0x4f,
    0x0d,
    1, // br_if out when i >= n << 2
    ...body,
    ...localGet(i),
    0x41,
    16,
    0x6a,
    ...localSet(i),
    0x0c,
    0,
    0x0b,
    0x0b,
  ];
}

// adamw(p, g, m, v, n, decay, b1, 1-b1, b2, 1-b2, stepSize, sqrt(bc2), eps, gradScale)
function adamwBody(): number[] {
  const [p, g, m, v, n] = [0, 1, 2, 3, 4];
  const scalars = [5, 6, 7, 8, 9, 10, 11, 12, 13];
  const i = 14;
  const [decay, b1, omb1, b2, omb2, step, bc2, eps, gscale] = scalars.map((_, k) => 15 + k);
  const [gv, mv, vv] = [24, 25, 26];
  const splats = scalars.flatMap((s, k) => [...localGet(s), ...f32x4.splat, ...localSet(15 + k)]);
  const body = [
    ...load(g, i),
    ...localGet(gscale),
    ...f32x4.mul,
    ...localSet(gv),
    ...load(m, i),
    ...localGet(b1),
    ...f32x4.mul,
    ...localGet(gv),
    ...localGet(omb1),
    ...f32x4.mul,
    ...f32x4.add,
    ...localSet(mv),
    ...load(v, i),
    ...localGet(b2),
    ...f32x4.mul,
    ...localGet(gv),
    ...localGet(gv),
    ...f32x4.mul,
    ...localGet(omb2),
    ...f32x4.mul,
    ...f32x4.add,
    ...localSet(vv),
    ...store(m, i, localGet(mv)),
    ...store(v, i, localGet(vv)),
    ...store(p, i, [
      ...load(p, i),
      ...localGet(decay),
      ...f32x4.mul,
      ...localGet(mv),
      ...localGet(step),
      ...f32x4.mul,
      ...localGet(vv),
      ...f32x4.sqrt,
      ...localGet(bc2),
      ...f32x4.div,
      ...localGet(eps),
      ...f32x4.add,
      ...f32x4.div,
      ...f32x4.sub,
    ]),
  ];
  const locals = vec([
    [...uleb(1), I32],
    [...uleb(12), V128],
  ]);
  return [...locals, ...splats, ...loop(i, n, body), 0x0b];
}

// sumsq(g, n) -> f64: sum of squares, accumulated in float64.
function sumsqBody(): number[] {
  const [g, n, i, acc, sq] = [0, 1, 2, 3, 4];
  const body = [
    ...load(g, i),
    ...localSet(sq),
    ...localGet(sq),
    ...localGet(sq),
    ...f32x4.mul,
    ...localSet(sq),
    ...localGet(acc),
    ...localGet(sq),
    ...f64x2.promoteLow,
    ...f64x2.add,
    ...localGet(sq),
    ...localGet(sq),
    ...highToLow,
    ...f64x2.promoteLow,
    ...f64x2.add,
    ...localSet(acc),
  ];
  const locals = vec([
    [...uleb(1), I32],
    [...uleb(2), V128],
  ]);
  return [
    ...locals,
    ...loop(i, n, body),
    ...localGet(acc),
    ...f64x2.extract(0),
    ...localGet(acc),
    ...f64x2.extract(1),
    0xa0,
    0x0b,
  ];
}

function moduleBytes(): Uint8Array {
  const pages = Math.ceil((4 * CHUNK * 4) / 65536);
  const types = vec([
    [
      0x60,
      ...vec([[I32], [I32], [I32], [I32], [I32], ...Array.from({ length: 9 }, () => [F32])]),
      0,
    ],
    [0x60, ...vec([[I32], [I32]]), ...vec([[F64]])],
  ]);
  const code = [adamwBody(), sumsqBody()].map((b) => [...uleb(b.length), ...b]);
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, types),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(
      7,
      vec([
        [...str('memory'), 0x02, 0],
        [...str('adamw'), 0x00, 0],
        [...str('sumsq'), 0x00, 1],
      ]),
    ),
    ...section(10, vec(code)),
  ]);
}

/** The compiled kernels and their scratch buffers. */
export interface Kernels {
  /** Scratch for parameters. */
  p: Float32Array;
  /** Scratch for gradients. */
  g: Float32Array;
  /** Scratch for first moments. */
  m: Float32Array;
  /** Scratch for second moments. */
  v: Float32Array;
  /** One AdamW update of the first `n` scratch floats (`n` a multiple of 4). */
  adamw(
    n: number,
    decay: number,
    b1: number,
    b2: number,
    stepSize: number,
    bc2Sqrt: number,
    eps: number,
    gradScale: number,
  ): void;
  /** Sum of squares of the first `n` floats of the gradient scratch, in float64. */
  sumsq(n: number): number;
}

let kernels: Kernels | undefined;

/** The kernels, compiled on first use (per thread: each worker compiles its own). */
export function wasmKernels(): Kernels {
  if (kernels) return kernels;
  const instance = new WebAssembly.Instance(
    new WebAssembly.Module(moduleBytes() as Uint8Array<ArrayBuffer>),
  );
  const ex = instance.exports as {
    memory: WebAssembly.Memory;
    adamw: (...args: number[]) => void;
    sumsq: (g: number, n: number) => number;
  };
  const view = (k: number): Float32Array =>
    new Float32Array(ex.memory.buffer, k * CHUNK * 4, CHUNK);
  const [p, g, m, v] = [0, 1, 2, 3].map(view);
  const bytes = (k: number): number => k * CHUNK * 4;
  kernels = {
    p,
    g,
    m,
    v,
    adamw: (n, decay, b1, b2, stepSize, bc2Sqrt, eps, gradScale) =>
      ex.adamw(
        bytes(0),
        bytes(1),
        bytes(2),
        bytes(3),
        n,
        decay,
        b1,
        1 - b1,
        b2,
        1 - b2,
        stepSize,
        bc2Sqrt,
        eps,
        gradScale,
      ),
    sumsq: (n) => ex.sumsq(bytes(1), n),
  };
  return kernels;
}
