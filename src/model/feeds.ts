import { OrtTensorClass, type OrtTensor } from '../engine/index.ts';

/** An int64 `[rows, width]` tensor from equal-length rows of numbers. */
export function int64Matrix(rows: readonly (readonly number[])[]): OrtTensor {
  const width = rows[0]?.length ?? 0;
  const data = new BigInt64Array(rows.length * width);
  rows.forEach((row, r) => {
    if (row.length !== width) throw new Error('int64Matrix: rows differ in length');
    for (let c = 0; c < width; c++) data[r * width + c] = BigInt(row[c]);
  });
  return new OrtTensorClass('int64', data, [rows.length, width]);
}

/** The float32 data of an ORT output tensor. */
export function floatData(tensor: OrtTensor): Float32Array {
  return tensor.data as Float32Array;
}

/** The int64 data of an ORT output tensor, as numbers. */
export function intData(tensor: OrtTensor): number[] {
  return Array.from(tensor.data as BigInt64Array, Number);
}
