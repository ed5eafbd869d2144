import {
  add,
  applyRotary,
  attentionBias,
  concat,
  dimOf,
  expand,
  matmul,
  mergeHeads,
  range,
  reshape,
  shape,
  sizes,
  softmax,
  splitHeads,
  squeeze,
  unsqueeze,
  type Graph,
  type Tensor,
} from '../engine/index.ts';
import type { ModelConfig } from './config.ts';
import type { DecoderInputs, KeyValue } from './decoder.ts';
import { groupedQueryAttention, rotaryEmbedding } from './inference-ops.ts';
import { rotaryAngles, rotaryTables } from './rope.ts';

/*
 * The decoder's attention, in two forms with one signature (`Attend`): composed of
 * primitive ops that have gradient rules (training, scoring), or fused into ONNX's single-node
 * RotaryEmbedding and Attention kernels (inference). Each builds its positions' rotary tables
 * and the causal mask once per graph, then attends layer by layer.
 */

/** Query, past and key lengths (int64 `[1]`), and the positions of the new tokens `[1|B, T]`. */
export interface SequenceLengths {
  query: Tensor;
  past: Tensor | undefined;
  key: Tensor;
  positions: Tensor;
}

/** Read off the graph's inputs; positions default to `P .. P+T-1` when none are fed. */
export function sequenceLengths(inputs: DecoderInputs): SequenceLengths {
  const query = dimOf(inputs.inputIds, 1);
  const past = inputs.past ? dimOf(inputs.past[0].key, 2) : undefined;
  const key = past ? add(past, query) : query;
  const positions = inputs.positionIds ?? defaultPositions(query, past);
  return { query, past, key, positions };
}

/** `[B*T, width]` -> `[B, T, width]`, one shape tensor per width. */
export type Unflatten = (t: Tensor, width: number) => Tensor;

/** The {@link Unflatten} of a batch of `ids [B, T]`. */
export function unflattener(ids: Tensor, queryLength: Tensor): Unflatten {
  const batch = dimOf(ids, 0);
  const shapes = new Map<number, Tensor>();
  return (t, width) => {
    if (!shapes.has(width)) shapes.set(width, sizes([batch, queryLength, width]));
    return reshape(t, shapes.get(width)!);
  };
}

/**
 * One layer's attention over its projected `q [B*T, H*D]`, `k`, `v [B*T, kvH*D]`: the output
 * `[B*T, H*D]` (before o_proj) and the keys/values to cache.
 */
export type Attend = (
  q: Tensor,
  k: Tensor,
  v: Tensor,
  layer: number,
  to3d: Unflatten,
) => { output: Tensor; present: KeyValue };

/** What either form of attention is built from: the graph, the model and its inputs. */
export interface AttentionSetup {
  g: Graph;
  config: ModelConfig;
  inputs: DecoderInputs;
  lengths: SequenceLengths;
}

/** The causal mask, with padding, as an additive bias `[B|1, 1, T, P+T]`. */
function causalBias({ g, inputs, lengths }: AttentionSetup): Tensor {
  // A static length without a cache gives a constant mask.
  const ids = inputs.inputIds;
  const staticLength = typeof ids.shape[1] === 'number' && !inputs.past ? ids.shape[1] : undefined;
  return attentionBias(g, staticLength ?? lengths.query, staticLength ?? lengths.key, {
    causal: true,
    keyMask: inputs.attentionMask,
  })!;
}

/** Attention of primitive ops (gradient rules for all): rotate-half RoPE, grouped softmax attention. */
export function composedAttention(setup: AttentionSetup): Attend {
  const { config, inputs, lengths } = setup;
  const { numHeads: heads, numKvHeads: kvHeads, headDim } = config;
  const rotary = rotaryTables(config, lengths.positions); // cos, sin [B|1, 1, T, D]
  const bias = causalBias(setup);
  // Query heads of one KV group are stacked along the time axis, so the bias repeats per head.
  const groups = heads / kvHeads;
  const groupBias = groups === 1 ? bias : concat(Array<Tensor>(groups).fill(bias), 2);
  return (q, k, v, layer, to3d) => {
    const past = inputs.past?.[layer];
    let keys = applyRotary(splitHeads(to3d(k, kvHeads * headDim), kvHeads), rotary); // [B, kvH, T, D]
    let values = splitHeads(to3d(v, kvHeads * headDim), kvHeads); // [B, kvH, T, D]
    if (past) {
      keys = concat([past.key, keys], 2); // [B, kvH, P+T, D]
      values = concat([past.value, values], 2);
    }
    const queries = applyRotary(splitHeads(to3d(q, heads * headDim), heads), rotary); // [B, H, T, D]
    const attended = groupedAttention(queries, keys, values, groupBias, config); // [B, H, T, D]
    const output = reshape(mergeHeads(attended), [-1, heads * headDim]);
    return { output, present: { key: keys, value: values } };
  };
}

/** Attention of single-node ONNX kernels (RotaryEmbedding, Attention): no gradient rules. */
export function fusedAttention(setup: AttentionSetup): Attend {
  const { g, config, inputs, lengths } = setup;
  const { numHeads: heads, numKvHeads: kvHeads, headDim } = config;
  const ids = inputs.inputIds;
  const angles = rotaryAngles(config, expand(lengths.positions, shape(ids))); // [B, T, D/2]
  const bias = causalBias(setup);
  return (q, k, v, layer, to3d) => {
    const past = inputs.past?.[layer];
    const { cos, sin } = angles;
    const result = groupedQueryAttention(
      g,
      rotaryEmbedding(to3d(q, heads * headDim), cos, sin, heads), // [B, T, H*D]
      rotaryEmbedding(to3d(k, kvHeads * headDim), cos, sin, kvHeads), // [B, T, kvH*D]
      to3d(v, kvHeads * headDim),
      bias,
      { heads, kvHeads, headDim, pastKey: past?.key, pastValue: past?.value },
    );
    const output = reshape(result.output, [-1, heads * headDim]);
    return { output, present: { key: result.presentKey, value: result.presentValue } };
  };
}

/** `softmax(q kᵀ / sqrt(d) + bias) v` with each KV head shared by `heads / kvHeads` query heads. */
function groupedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor,
  config: ModelConfig,
): Tensor {
  const { numHeads: heads, numKvHeads: kvHeads, headDim } = config;
  // [B, H, T, D] -> [B, kvH, G*T, D]: heads of a group are adjacent, so this is a pure reshape
  // and K/V are never copied per query head.
  const grouped = heads === kvHeads ? q : reshape(q, [0, kvHeads, -1, headDim]);
  const scores = matmul(grouped, k, { transB: true, alpha: 1 / Math.sqrt(headDim) });
  const out = matmul(softmax(add(scores, bias), -1), v);
  return heads === kvHeads ? out : reshape(out, [0, heads, -1, headDim]);
}

/** `P .. P+T-1` as `[1, T]`: the new tokens follow the cached ones. */
function defaultPositions(queryLength: Tensor, pastLength: Tensor | undefined): Tensor {
  const start = pastLength ? squeeze(pastLength, [0]) : 0;
  const end = squeeze(pastLength ? add(pastLength, queryLength) : queryLength, [0]);
  return unsqueeze(range(start, end), [0]);
}
