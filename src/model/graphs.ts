import {
  cast,
  dimOf,
  expand,
  gather,
  gatherElements,
  Graph,
  greater,
  linear,
  logSoftmax,
  not,
  reduceMax,
  reshape,
  Session,
  sizes,
  unsqueeze,
  type SessionOptions,
  type Tensor,
} from '../engine/index.ts';
import type { ModelConfig } from './config.ts';
import { buildDecoder, headWeight, type DecoderOptions, type KeyValue } from './decoder.ts';

/**
 * The inference graphs of a model:
 * - `logits`: `input_ids`, `attention_mask`, `position_ids` `[B, T]` -> `logits [B, T, V]`;
 * - `prefill`: the same inputs -> last-position `logits [B, 1, V]` and `present.{i}.key|value`;
 * - `decode`: plus `past.{i}.key|value [B, kvH, P, D]`, mask over `P+T` keys -> the same outputs;
 * - `logprobs`: `input_ids [B, T]` (right-padded), `positions [N]` (flat `b*T + t` of the rows
 *   that predict a target) and `targets [N]` -> `logprobs [N]` and `greedy [N]` (1 where the
 *   target is the row's argmax); the head runs on those N rows only;
 * - `continuation`: `logprobs` on top of one cached prefix `past.{i}.key|value [1, kvH, P, D]`,
 *   shared by every row (positions continue from P).
 */
export type GraphKind = 'logits' | 'prefill' | 'decode' | 'logprobs' | 'continuation';

/** Builds one inference graph (the decoder plus the kind's inputs and outputs). */
export function buildInferenceGraph(
  config: ModelConfig,
  kind: GraphKind,
  decoder: DecoderOptions,
): Graph {
  const g = new Graph({ name: `finemed-${config.modelType}-${kind}` });
  const options: DecoderOptions = {
    ...decoder,
    training: false,
    trainableBase: false,
    fused: true,
  };
  const inputIds = g.input('input_ids', 'int64', ['B', 'T']);
  if (kind === 'logprobs' || kind === 'continuation') {
    const past = kind === 'continuation' ? sharedPast(g, config, inputIds) : undefined;
    const positions = g.input('positions', 'int64', ['N']);
    const targets = g.input('targets', 'int64', ['N']);
    const { hidden } = buildDecoder(g, config, { inputIds, past }, { ...options, logits: 'none' });
    const rows = gather(reshape(hidden, [-1, config.hiddenSize]), positions, 0);
    const logp = logSoftmax(linear(rows, { weight: headWeight(g, config, false) }), -1);
    const picked = gatherElements(logp, unsqueeze(targets, [1]), 1);
    g.output(reshape(picked, [-1]), 'logprobs');
    const beaten = greater(reduceMax(logp, [-1]), picked);
    g.output(cast(reshape(not(beaten), [-1]), 'int64'), 'greedy');
    return g;
  }
  const keyLength = kind === 'decode' ? 'S' : 'T';
  const attentionMask = g.input('attention_mask', 'int64', ['B', keyLength]);
  const positionIds = g.input('position_ids', 'int64', ['B', 'T']);
  let past: KeyValue[] | undefined;
  if (kind === 'decode') {
    const shape = ['B', config.numKvHeads, 'P', config.headDim];
    past = Array.from({ length: config.numLayers }, (_, i) => ({
      key: g.input(`past.${i}.key`, 'float32', shape),
      value: g.input(`past.${i}.value`, 'float32', shape),
    }));
  }
  const out = buildDecoder(
    g,
    config,
    { inputIds, attentionMask, positionIds, past },
    { ...options, logits: kind === 'logits' ? 'all' : 'last' },
  );
  g.output(out.logits as Tensor, 'logits');
  if (kind !== 'logits') {
    out.presents.forEach((kv, i) => {
      g.output(kv.key, `present.${i}.key`);
      g.output(kv.value, `present.${i}.value`);
    });
  }
  return g;
}

/** `past.{i}.key|value [1, kvH, P, D]` inputs, broadcast to the batch of `inputIds`. */
function sharedPast(g: Graph, config: ModelConfig, inputIds: Tensor): KeyValue[] {
  const shape = [1, config.numKvHeads, 'P', config.headDim];
  const rows = sizes([dimOf(inputIds, 0), 1, 1, 1]);
  return Array.from({ length: config.numLayers }, (_, i) => ({
    key: expand(g.input(`past.${i}.key`, 'float32', shape), rows),
    value: expand(g.input(`past.${i}.value`, 'float32', shape), rows),
  }));
}

/** A compiled inference graph and the parameters it reads. */
export interface CompiledGraph {
  /** The ORT session. */
  session: Session;
  /** Names of the parameters to feed. */
  paramNames: string[];
}

/** Compiles the graphs of one model on demand and keeps them until {@link GraphCache.clear}. */
export class GraphCache {
  private readonly compiled = new Map<GraphKind, Promise<CompiledGraph>>();

  constructor(
    private readonly config: ModelConfig,
    private readonly decoderOptions: () => DecoderOptions,
    private readonly sessionOptions: SessionOptions = {},
  ) {}

  /** The compiled graph of a kind. */
  get(kind: GraphKind): Promise<CompiledGraph> {
    let hit = this.compiled.get(kind);
    if (!hit) {
      const graph = buildInferenceGraph(this.config, kind, this.decoderOptions());
      hit = Session.create(graph, this.sessionOptions).then((session) => ({
        session,
        paramNames: graph.params.map((p) => p.name),
      }));
      hit.catch(() => this.compiled.delete(kind));
      this.compiled.set(kind, hit);
    }
    return hit;
  }

  /** Releases every session (after the model's parameter layout changed, or when done). */
  async clear(): Promise<void> {
    const all = [...this.compiled.values()];
    this.compiled.clear();
    for (const c of all) await (await c.catch(() => undefined))?.session.dispose();
  }
}
