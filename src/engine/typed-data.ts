/** Typed arrays for each element type, and number conversion (including float16 rounding). */

/** Element types a graph tensor can hold. */
export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'bool';

/** The typed array that holds values of each dtype. */
export type TypedData =
  Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

/** A constant's values, serialized as an initializer. */
export interface ConstantData {
  /** Element type. */
  dtype: DType;
  /** Static shape. */
  shape: readonly number[];
  /** Values, row-major. */
  data: TypedData;
}

type TypedArrayClass = {
  new (n: number): TypedData;
  from(values: ArrayLike<number>, convert: (v: number) => number | bigint): TypedData;
};

const TYPED: Record<DType, [TypedArrayClass, (v: number) => number | bigint]> = {
  float32: [Float32Array as unknown as TypedArrayClass, Number],
  float64: [Float64Array as unknown as TypedArrayClass, Number],
  int64: [BigInt64Array as unknown as TypedArrayClass, (v) => BigInt(v)],
  int32: [Int32Array as unknown as TypedArrayClass, Number],
  bool: [Uint8Array as unknown as TypedArrayClass, (v) => (v ? 1 : 0)],
  float16: [Uint16Array as unknown as TypedArrayClass, (v) => toHalf(v)],
};

/** Converts numbers to the typed array for a dtype (typed arrays of that dtype pass through). */
export function toTypedData(values: ArrayLike<number> | TypedData, dtype: DType): TypedData {
  const [Class, convert] = TYPED[dtype];
  return values instanceof (Class as unknown as typeof Object)
    ? (values as TypedData)
    : Class.from(values as ArrayLike<number>, convert);
}

/** Rounds a number to IEEE half precision bits (round to nearest even). */
function toHalf(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && half & 1) ? 1 : 0));
}
