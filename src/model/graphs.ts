import {
  cast,
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
  unsqueeze,
  type SessionOptions,
  type ParamSet,
} from '../engine/index.ts';
import type { ModelConfig } from './config.ts';
import { buildDecoder, headWeight, type DecoderOptions, type KeyValue } from './decoder.ts';

/** How a model's inference graph trades float rounding for speed. */
export interface InferenceOptions {
  /**
   * The fast path: q/k/v and gate/up each one GEMM over concatenated weights
   * (`fusedProjections`), the last layer's o_proj and MLP only at the head rows (`rows`), and
   * ORT prepacking the frozen weights for its GEMM. Logits move in
   * the last bits (within 1e-5 of the exact path, tested), so it is for real models: by
   * default on from {@link FAST_INFERENCE_PARAMETERS} parameters up, off for the built-in
   * presets (whose demo figures are frozen) and whenever base weights are fed per run.
   */
  fast?: boolean;
}

/**
 * Parameters from which inference takes the fast path by default: the built-in presets have
 * under 10M, a real model hundreds of millions (on a Qwen2.5-0.5B-shaped model the fast path
 * took 8% less CPU for one score after 511 tokens and 13% less for four options; README).
 */
export const FAST_INFERENCE_PARAMETERS = 50_000_000;

/**
 * The one inference graph of a model, so that a session (and the frozen weights it copies) is
 * made once for logits, generation and scoring alike:
 * - inputs `input_ids`, `position_ids` `[B, T]`; `attention_mask [B, P+T]` (1 = real key);
 *   `past.{i}.key|value [B, kvH, P, D]` (P = 0 for a first pass); `head_rows [N]`, the flat
 *   positions `b*T + t` whose logits are wanted (the output head runs on those rows only);
 *   `targets [N]`, a token id per such row (any valid id when only logits are wanted);
 * - outputs `logits [N, V]`, `logprobs [N]` (log-softmax at the target), `greedy [N]` (1 where
 *   the target is the row's argmax) and `present.{i}.key|value [B, kvH, P+T, D]`.
 */
export function buildInferenceGraph(
  config: ModelConfig,
  decoder: DecoderOptions,
  inference: InferenceOptions = {},
): Graph {
  const g = new Graph({ name: `finemed-${config.modelType}-inference` });
  const fast = inference.fast ?? false;
  const options: DecoderOptions = {
    ...decoder,
    training: false,
    trainableBase: false,
    fused: true,
    fusedProjections: fast,
    logits: 'none',
  };
  const inputIds = g.input('input_ids', 'int64', ['B', 'T']);
  const attentionMask = g.input('attention_mask', 'int64', ['B', 'S']);
  const positionIds = g.input('position_ids', 'int64', ['B', 'T']);
  const shape = ['B', config.numKvHeads, 'P', config.headDim];
  const past: KeyValue[] = Array.from({ length: config.numLayers }, (_, i) => ({
    key: g.input(`past.${i}.key`, 'float32', shape),
    value: g.input(`past.${i}.value`, 'float32', shape),
  }));
  const headRows = g.input('head_rows', 'int64', ['N']);
  const targets = g.input('targets', 'int64', ['N']);
  const inputs = { inputIds, attentionMask, positionIds, past };
  const out = buildDecoder(g, config, inputs, { ...options, rows: fast ? headRows : undefined });
  const rows = fast
    ? out.hidden
    : gather(reshape(out.hidden, [-1, config.hiddenSize]), headRows, 0);
  const logits = linear(rows, { weight: headWeight(g, config, false) });
  g.output(logits, 'logits');
  const logp = logSoftmax(logits, -1);
  const picked = gatherElements(logp, unsqueeze(targets, [1]), 1);
  g.output(reshape(picked, [-1]), 'logprobs');
  const beaten = greater(reduceMax(logp, [-1]), picked);
  g.output(cast(reshape(not(beaten), [-1]), 'int64'), 'greedy');
  out.presents.forEach((kv, i) => {
    g.output(kv.key, `present.${i}.key`);
    g.output(kv.value, `present.${i}.value`);
  });
  return g;
}

/** LoRA adapters stay graph inputs (they train, and TTT swaps them); everything else is frozen. */
const isAdapter = (name: string): boolean => /\.lora_[AB]\.weight$/.test(name);

/** A compiled inference graph and the parameters it reads. */
export interface CompiledGraph {
  /** The ORT session. */
  session: Session;
  /** Names of the parameters to feed each run (those the session does not hold). */
  paramNames: string[];
  /** Whether it took the fast path ({@link InferenceOptions.fast}). */
  fast: boolean;
}

interface Compiled extends CompiledGraph {
  /** The set the frozen weights were copied from, and its weights key then. */
  params: ParamSet;
  frozenNames: string[];
  key?: string;
}

/**
 * Compiles a model's inference graph on first use and keeps it until {@link GraphCache.clear}.
 * Base weights are session initializers (ORT copies them once; only adapters and data cross
 * per run) for as long as they stay unchanged. When a tracked write changes them
 * (full-parameter training, TTT without LoRA), the session is rebuilt with every weight of that
 * set as a per-run input, which follows any later write without recompiling; a new set (LoRA
 * attached or detached) starts frozen again.
 */
export class GraphCache {
  private compiled?: Promise<Compiled>;
  /** A set whose base weights changed under a session: they are fed per run from then on. */
  private mutable?: ParamSet;

  constructor(
    private readonly config: ModelConfig,
    private readonly decoderOptions: () => DecoderOptions,
    private readonly params: () => ParamSet,
    private readonly sessionOptions: SessionOptions = {},
    /** Overrides the size rule of {@link FAST_INFERENCE_PARAMETERS}. */
    private readonly inference: InferenceOptions = {},
  ) {}

  /** The compiled graph, current for the model's parameters. */
  async get(): Promise<CompiledGraph> {
    const hit = await this.compiled?.catch(() => undefined);
    if (hit && hit.frozenNames.length > 0) {
      const params = this.params();
      const same = hit.params === params;
      if (same && hit.key === params.weightsKey(hit.frozenNames)) return hit;
      // The same set written since: it is being trained, so stop copying it into sessions.
      if (same) this.mutable = params;
      await this.clear();
    }
    this.compiled ??= this.compile();
    return this.compiled;
  }

  private async compile(): Promise<Compiled> {
    const params = this.params();
    const frozen = this.mutable !== params;
    // Fed weights would be concatenated on every run, so the fast path needs frozen ones.
    const fast = frozen && (this.inference.fast ?? params.count >= FAST_INFERENCE_PARAMETERS);
    const graph = buildInferenceGraph(this.config, this.decoderOptions(), { fast });
    if (frozen) graph.freeze((p) => !isAdapter(p.name));
    const frozenNames = graph.params.filter((p) => p.frozen).map((p) => p.name);
    const promise = Session.create(graph, {
      ...this.sessionOptions,
      weights: frozenNames.length > 0 ? params : undefined,
      prepack: this.sessionOptions.prepack ?? fast,
    }).then((session) => ({
      session,
      params,
      fast,
      frozenNames,
      paramNames: graph.params.filter((p) => !p.frozen).map((p) => p.name),
      key: frozenNames.length > 0 ? params.weightsKey(frozenNames) : undefined,
    }));
    promise.catch(() => (this.compiled = undefined));
    return promise;
  }

  /** Releases the session (after the model's parameter layout changed, or when done). */
  async clear(): Promise<void> {
    const hit = this.compiled;
    this.compiled = undefined;
    await (await hit?.catch(() => undefined))?.session.dispose();
  }
}
