import { OrtTensorClass, type OrtTensor } from '../engine/index.ts';
import type { CausalLM } from './causal-lm.ts';
import { int64Matrix } from './feeds.ts';

/** One run of a model's inference graph (see `buildInferenceGraph`). */
export interface ForwardStep {
  /** New token ids, rows of equal length `T`. */
  ids: readonly (readonly number[])[];
  /** 1 for real keys over past + new positions (default: all real). */
  mask?: readonly (readonly number[])[];
  /** Positions of the new tokens (default: `P .. P+T-1`). */
  positions?: readonly (readonly number[])[];
  /** `past.{i}.key|value` feeds of `P` cached positions, one row per id row (default: none). */
  past?: Record<string, OrtTensor>;
  /** Flat positions `row*T + t` whose logits (and log-probs) are wanted. */
  headRows: readonly number[];
  /** The token scored at each head row (default 0: only logits are wanted). */
  targets?: readonly number[];
}

/** The outputs the graph can return. */
export type ForwardOutput =
  'logits' | 'logprobs' | 'greedy' | `present.${number}.${'key' | 'value'}`;

/**
 * Runs the model's inference graph once. `fetch` names the outputs wanted, or maps them to
 * preallocated tensors (a KV cache's arenas).
 */
export async function runForward(
  model: CausalLM,
  step: ForwardStep,
  fetch: readonly ForwardOutput[] | Record<string, OrtTensor | null>,
): Promise<Record<string, OrtTensor>> {
  const { session, paramNames } = await model.compiled();
  const { numLayers, numKvHeads, headDim } = model.config;
  const rows = step.ids.length;
  const width = step.ids[0].length;
  const pastLength = step.past ? Number(step.past['past.0.key'].dims[2]) : 0;
  const past = step.past ?? emptyPast(numLayers, [rows, numKvHeads, 0, headDim]);
  const vector = (values: readonly number[]) =>
    new OrtTensorClass('int64', BigInt64Array.from(values, BigInt), [values.length]);
  return session.run(
    {
      input_ids: int64Matrix(step.ids),
      attention_mask: int64Matrix(
        step.mask ?? step.ids.map(() => Array<number>(pastLength + width).fill(1)),
      ),
      position_ids: int64Matrix(
        step.positions ??
          step.ids.map(() => Array.from({ length: width }, (_, t) => pastLength + t)),
      ),
      ...past,
      head_rows: vector(step.headRows),
      targets: vector(step.targets ?? step.headRows.map(() => 0)),
      ...model.params.feeds(paramNames),
    },
    fetch,
  );
}

function emptyPast(layers: number, dims: number[]): Record<string, OrtTensor> {
  const empty = new OrtTensorClass('float32', new Float32Array(0), dims);
  const out: Record<string, OrtTensor> = {};
  for (let i = 0; i < layers; i++) out[`past.${i}.key`] = out[`past.${i}.value`] = empty;
  return out;
}
