/**
 * Symbolic dimension arithmetic for build-time shape inference.
 *
 * A dimension is a number (known size) or a string (a symbol such as `B`, or a derived
 * expression such as `B*T` or `P+T`). Expressions are kept in a canonical text form so that
 * two routes to the same size compare equal as strings; sizes that cannot be derived become
 * fresh unknowns (`?3`), which is always safe because ONNX Runtime checks real sizes at run time.
 */

/** One dimension of a tensor shape: a known size or a symbolic name/expression. */
export type Dim = number | string;

/** A tensor shape. */
export type Shape = readonly Dim[];

let unknownCounter = 0;

/** A fresh unknown dimension, distinct from every other. */
export function unknownDim(): string {
  unknownCounter += 1;
  return `?${unknownCounter}`;
}

/** True when `d` is a single plain identifier (a dimension the user named). */
export function isNamedDim(d: Dim): d is string {
  return typeof d === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(d);
}

/** Formats a shape the way error messages show it: `[B,T,256]`. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

function factors(d: Dim): { coef: number; syms: string[] } {
  if (typeof d === 'number') return { coef: d, syms: [] };
  if (d.includes('+')) return { coef: 1, syms: [`(${d})`] };
  let coef = 1;
  const syms: string[] = [];
  for (const part of d.split('*')) {
    const n = Number(part);
    if (part !== '' && Number.isFinite(n)) coef *= n;
    else syms.push(part);
  }
  return { coef, syms };
}

function fromFactors(coef: number, syms: string[]): Dim {
  if (syms.length === 0) return coef;
  const sorted = [...syms].sort();
  return coef === 1 ? sorted.join('*') : `${coef}*${sorted.join('*')}`;
}

/** `a * b`, folding known sizes. */
export function dimMul(a: Dim, b: Dim): Dim {
  const fa = factors(a);
  const fb = factors(b);
  return fromFactors(fa.coef * fb.coef, [...fa.syms, ...fb.syms]);
}

/** The product of all dims (1 for a scalar). */
export function dimProduct(dims: Shape): Dim {
  return dims.reduce<Dim>((acc, d) => dimMul(acc, d), 1);
}

/** `a / b` when it divides exactly at build time; otherwise a fresh unknown. */
export function dimDiv(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') {
    return a % b === 0 ? a / b : unknownDim();
  }
  const fa = factors(a);
  const fb = factors(b);
  if (fb.coef === 0 || fa.coef % fb.coef !== 0) return unknownDim();
  const rest = [...fa.syms];
  for (const s of fb.syms) {
    const i = rest.indexOf(s);
    if (i < 0) return unknownDim();
    rest.splice(i, 1);
  }
  return fromFactors(fa.coef / fb.coef, rest);
}

/** `a + b`, folding known sizes. */
export function dimAdd(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  const terms = [a, b].flatMap((d) => String(d).split('+'));
  let constant = 0;
  const syms: string[] = [];
  for (const t of terms) {
    const n = Number(t);
    if (Number.isFinite(n)) constant += n;
    else syms.push(t);
  }
  syms.sort();
  if (constant !== 0) syms.push(String(constant));
  return syms.join('+');
}

/** `a - b` for known sizes, `a` minus a known 0, or a fresh unknown. */
export function dimSub(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (b === 0) return a;
  if (typeof a === 'string' && a.split('+').includes(String(b))) {
    const rest = a.split('+');
    rest.splice(rest.indexOf(String(b)), 1);
    return rest.length === 1 && Number.isFinite(Number(rest[0])) ? Number(rest[0]) : rest.join('+');
  }
  return unknownDim();
}

/** True when the shape has only known sizes. */
export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

/** The element count of a static shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Numpy-style broadcast of two shapes, or undefined when two known sizes clash.
 * A symbol against a known size other than 1 takes the known size (the symbol must equal it
 * at run time); two different symbols keep the first, preferring names over unknowns.
 */
export function broadcastShapes(a: Shape, b: Shape): Dim[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)] : 1;
    const db = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)] : 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else if (typeof da === 'number' && typeof db === 'number') return undefined;
    else if (typeof da === 'number') out.push(da);
    else if (typeof db === 'number') out.push(db);
    else out.push(da.startsWith('?') ? db : da);
  }
  return out;
}

/** Normalizes a possibly negative axis against a rank, or undefined when out of range. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return Number.isInteger(a) && a >= 0 && a < rank ? a : undefined;
}
