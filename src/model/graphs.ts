import {
  cast,
  gatherElements,
  Graph,
  greater,
  maximum,
  not,
  reduceMax,
  Session,
  unsqueeze,
  type SessionOptions,
  type Tensor,
} from '../engine/index.ts';
import type { ModelConfig } from './config.ts';
import { buildDecoder, tokenLogprobs, type DecoderOptions, type KeyValue } from './decoder.ts';

/**
 * The inference graphs of a model:
 * - `logits`: `input_ids`, `attention_mask`, `position_ids` `[B, T]` -> `logits [B, T, V]`;
 * - `prefill`: the same inputs -> last-position `logits [B, 1, V]` and `present.{i}.key|value`;
 * - `decode`: plus `past.{i}.key|value [B, kvH, P, D]`, mask over `P+T` keys -> the same outputs;
 * - `logprobs`: `input_ids`, `targets` `[B, T]` (right-padded, -100 = skip) ->
 *   `logprobs [B, T]` and `greedy [B, T]` (1 where the target is the argmax).
 */
export type GraphKind = 'logits' | 'prefill' | 'decode' | 'logprobs';

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
  if (kind === 'logprobs') {
    const targets = g.input('targets', 'int64', ['B', 'T']);
    const { logprobs, logits } = tokenLogprobs(g, config, { inputIds }, targets, options);
    g.output(logprobs, 'logprobs');
    // Ignored targets (-100) are clamped to id 0; their flag is meaningless and never read.
    const picked = gatherElements(logits, unsqueeze(maximum(targets, 0), [-1]), -1);
    const beaten = greater(reduceMax(logits, [-1]), picked);
    g.output(cast(not(beaten), 'int64'), 'greedy');
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
