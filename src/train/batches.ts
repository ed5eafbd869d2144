import { OrtTensorClass, type OrtTensor } from '../engine/index.ts';
import type { EncodedRow } from './encode.ts';

/** Targets that carry no loss (PyTorch's and Hugging Face's ignore index). */
export const IGNORE = -100;

/** A right-padded micro-batch: inputs, shifted targets and what it holds. */
export interface Collated {
  /** `input_ids` int64 `[B, T]`: each row without its last token. */
  inputIds: OrtTensor;
  /** `targets` int64 `[B, T]`: the next token where the mask marks a target, else -100. */
  targets: OrtTensor;
  /** Real (non-padding) input tokens. */
  tokens: number;
  /** Targets that carry loss, per row. */
  targetCounts: number[];
}

/**
 * Right-pads rows to the longest and shifts them into inputs and next-token targets. With
 * causal attention and padding only on the right, real tokens never see padding, so no
 * attention mask is needed; padded positions have no target.
 */
export function collate(rows: readonly EncodedRow[], padId: number): Collated {
  const width = Math.max(...rows.map((r) => r.ids.length)) - 1;
  if (width < 1) throw new Error('collate: every row needs at least two tokens');
  const ids = new BigInt64Array(rows.length * width).fill(BigInt(padId));
  const targets = new BigInt64Array(rows.length * width).fill(BigInt(IGNORE));
  let tokens = 0;
  const targetCounts = rows.map((row, r) => {
    let count = 0;
    for (let t = 0; t < row.ids.length - 1; t++) {
      ids[r * width + t] = BigInt(row.ids[t]);
      if (row.mask[t + 1]) {
        targets[r * width + t] = BigInt(row.ids[t + 1]);
        count++;
      }
    }
    tokens += row.ids.length - 1;
    return count;
  });
  return {
    inputIds: new OrtTensorClass('int64', ids, [rows.length, width]),
    targets: new OrtTensorClass('int64', targets, [rows.length, width]),
    tokens,
    targetCounts,
  };
}
