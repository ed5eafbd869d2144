import {
  add,
  checkpoint,
  concat,
  constantOfShape,
  crossEntropy,
  declareLinear,
  embedding,
  END,
  equal,
  gather,
  gemm,
  linear,
  mul,
  neg,
  reshape,
  rmsNorm,
  shape,
  silu,
  slice,
  split,
  unsqueeze,
  type Graph,
  type Tensor,
} from '../engine/index.ts';
import { composedAttention, fusedAttention, sequenceLengths, unflattener } from './attention.ts';
import type { ModelConfig } from './config.ts';
import { rmsNormalization } from './inference-ops.ts';
import {
  headWeightName,
  layerNorms,
  layerProjections,
  type LinearModule,
  type LoraGraphSpec,
} from './param-layout.ts';

/** A layer's attention keys and values `[B, kvHeads, S, headDim]`. */
export interface KeyValue {
  /** Rotated keys. */
  key: Tensor;
  value: Tensor;
}

/** The data inputs of a decoder forward. */
export interface DecoderInputs {
  /** Token ids, int64 `[B, T]`. */
  inputIds: Tensor;
  /** 1 for real tokens, 0 for padding, over all keys (past + new): `[B, P+T]`. Default: all real. */
  attentionMask?: Tensor;
  /** int64 positions `[B, T]` (left-padded batches need them). Default: `P .. P+T-1`. */
  positionIds?: Tensor;
  /** Cached keys/values of earlier positions, one per layer (generation). */
  past?: KeyValue[];
}

/** How to build a decoder forward. */
export interface DecoderOptions {
  /** Whether the base weights are trainable (default true; false for LoRA or a reference model). */
  trainableBase?: boolean;
  /** LoRA adapters to add (always trainable). */
  lora?: LoraGraphSpec;
  /** A training graph: LoRA dropout is applied (seeded by `dropoutSeed`). */
  training?: boolean;
  /** Seed of the LoRA dropout masks (default 0; see {@link loraDropoutSeed}). */
  dropoutSeed?: number;
  /**
   * Which positions get logits: all (default), only the last (generation), or none (the caller
   * computes its own head, e.g. a chunked loss, from `hidden` and {@link headWeight}).
   */
  logits?: 'all' | 'last' | 'none';
  /**
   * Use single-node ONNX RMSNormalization, RotaryEmbedding and Attention (inference only: they
   * have no gradient rules). Default false.
   */
  fused?: boolean;
  /**
   * Run q/k/v as one GEMM and gate/up as one, over weights concatenated along the output axis
   * (for frozen weights ORT folds the Concat once at session creation). Columns come out
   * bit-identical only when ORT prepacks the weights, so inference graphs pair it with
   * prepacking on large models (`graphs.ts`); default false.
   */
  fusedProjections?: boolean;
  /**
   * The flat rows `b*T + t` (int64 `[N]`) whose final hidden states are wanted: the last
   * layer's o_proj, MLP and the final norm then run on those rows alone (its keys and values
   * still cover every position), and `hidden` is `[N, d]`. Only with `logits: 'none'`.
   */
  rows?: Tensor;
  /**
   * Gradient checkpointing: keep only each layer's input for the backward pass, which builds
   * the layer again from it (see the engine's `checkpoint`). A training step then holds one
   * layer's activations instead of all of them, for one more forward pass. Not with LoRA
   * dropout (a re-run would draw new masks) or `rows`. Default false.
   */
  checkpoint?: boolean;
}

/** What a decoder forward produces. */
export interface DecoderOutputs {
  /** Final normed hidden states `[B, T, hidden]` (`[N, hidden]` for `rows`). */
  hidden: Tensor;
  /** `[B, T, V]` (or `[B, 1, V]` for `last`); absent for `none`. */
  logits?: Tensor;
  /** Every layer's keys/values including the new positions: the next step's `past`. */
  presents: KeyValue[];
}

/**
 * Adds a Llama/Qwen2 decoder forward to `g`, declaring its parameters under Hugging Face
 * names: embeddings, per layer RMSNorm -> grouped-query attention with rotary positions ->
 * residual -> RMSNorm -> SwiGLU MLP -> residual, a final RMSNorm and the (tied or untied)
 * output head. The projections and their sizes come from the architecture table
 * (`layerProjections`). Attention is composed of primitive ops with gradient rules
 * ({@link composedAttention}) unless `fused` asks for ONNX's single-node kernels
 * ({@link fusedAttention}, inference only); everything else is shared.
 */
export function buildDecoder(
  g: Graph,
  config: ModelConfig,
  inputs: DecoderInputs,
  options: DecoderOptions = {},
): DecoderOutputs {
  const { hiddenSize: d, rmsNormEps: eps } = config;
  const trainable = options.trainableBase ?? true;
  const fused = options.fused ?? false;
  const ids = inputs.inputIds; // [B, T]
  if (inputs.past && inputs.past.length !== config.numLayers) {
    throw new Error(
      `buildDecoder: ${inputs.past.length} past key/values for ${config.numLayers} layers`,
    );
  }
  if (options.rows && options.logits !== 'none')
    throw new Error("buildDecoder: `rows` needs logits: 'none' (the caller applies the head)");
  if (options.checkpoint && (options.rows || (options.training && options.lora?.dropout)))
    throw new Error(
      'buildDecoder: gradient checkpointing cannot be combined with `rows` or LoRA dropout (a rebuilt layer would draw other dropout masks)',
    );
  const lengths = sequenceLengths(inputs);
  const attend = (fused ? fusedAttention : composedAttention)({ g, config, inputs, lengths });
  const to3d = unflattener(ids, lengths.query);
  const project = projector(g, options);
  const rms = fused ? rmsNormalization : rmsNorm;
  const norm = (x: Tensor, name: string): Tensor => rms(x, g.param(name, [d], { trainable }), eps);

  // The residual stream is kept 2-D `[B*T, d]` so every projection is one Gemm with the weight
  // as stored (transB, bias in the same pass) rather than a batched MatMul.
  const embed = g.param('model.embed_tokens.weight', [config.vocabSize, d], { trainable });
  let x = embedding(embed, reshape(ids, [-1])); // [B*T, d]
  const presents: KeyValue[] = [];
  const layer = (x: Tensor, i: number): Tensor => {
    const p = layerProjections(config, i);
    const norms = layerNorms(i);
    const h = norm(x, norms.self_attn);
    const [q, k, v] = project(h, p.q_proj, p.k_proj, p.v_proj); // [B*T, H*D], 2 x [B*T, kvH*D]
    const attended = attend(q, k, v, i, to3d); // [B*T, H*D]
    presents[i] ??= attended.present; // the first build's, not a checkpoint re-run's
    // Past the last attention, no position reads another: the unwanted rows can go.
    const keep = (t: Tensor) =>
      options.rows && i === config.numLayers - 1 ? gather(t, options.rows, 0) : t;
    x = add(keep(x), project(keep(attended.output), p.o_proj)[0]); // [B*T | N, d]
    const h2 = norm(x, norms.mlp);
    const [gate, up] = project(h2, p.gate_proj, p.up_proj); // 2 x [B*T, F]
    return add(x, project(mul(silu(gate), up), p.down_proj)[0]); // [B*T, d]
  };
  for (let i = 0; i < config.numLayers; i++)
    x = options.checkpoint ? checkpoint(x, (input) => layer(input, i)) : layer(x, i);
  const normed = norm(x, 'model.norm.weight'); // [B*T, d]
  const hidden = options.rows ? normed : to3d(normed, d); // [B, T, d] | [N, d]
  const which = options.logits ?? 'all';
  if (which === 'none') return { hidden, presents };
  const head = { weight: headWeight(g, config, trainable) }; // [V, d]
  const logits =
    which === 'last'
      ? unsqueeze(linear(reshape(slice(hidden, [-1], [END], [1]), [-1, d]), head), [1]) // [B, 1, V]
      : to3d(linear(normed, head), config.vocabSize); // [B, T, V]
  return { hidden, logits, presents };
}

/**
 * The output head's weight `[V, d]` in a graph `buildDecoder` built: the token embedding when
 * the model ties them, else `lm_head.weight` (declared on first use, so graphs built with
 * `logits: 'none'` get it too; `trainable` applies only then).
 */
export function headWeight(g: Graph, config: ModelConfig, trainable = true): Tensor {
  const name = headWeightName(config);
  return (
    g.paramByName(name)?.tensor ??
    g.param(name, [config.vocabSize, config.hiddenSize], { trainable })
  );
}

/**
 * Per-token log-probabilities `[B, T]` of `targets` (int64 `[B, T]`; -100 = ignored, giving 0)
 * under the decoder: the fused softmax cross-entropy, so no log-softmax tensor is kept.
 */
export function tokenLogprobs(
  g: Graph,
  config: ModelConfig,
  inputs: DecoderInputs,
  targets: Tensor,
  options: DecoderOptions = {},
): { logprobs: Tensor; logits: Tensor } {
  const { logits } = buildDecoder(g, config, inputs, { ...options, logits: 'all' });
  return { logprobs: neg(crossEntropy(logits!, targets, { reduction: 'none' })), logits: logits! };
}

/**
 * The dropout seed of the `index`-th adapter (in forward order) in a graph seeded `graphSeed`
 * (the run's seed). ONNX Dropout draws from one generator per node, so every adapter needs a
 * seed of its own; spacing run seeds a prime (7919) apart keeps runs seeded s and s+1 from
 * sharing any adapter's masks while a graph has fewer than 7919 adapters.
 */
export function loraDropoutSeed(graphSeed: number, index: number): number {
  return graphSeed * 7919 + index;
}

/**
 * `x W^T (+ b)` for projections of the table that read the same `x`, plus `scale · B (A x)`
 * for each one LoRA adapts (A's input dropped out in training graphs). With
 * `fusedProjections`, projections alike in bias run as one Gemm whose output is split.
 */
function projector(
  g: Graph,
  options: DecoderOptions,
): (x: Tensor, ...modules: LinearModule[]) => Tensor[] {
  const trainable = options.trainableBase ?? true;
  const dropout = options.training ? (options.lora?.dropout ?? 0) : 0;
  let adapters = 0;
  const declare = (m: LinearModule) =>
    declareLinear(g, m.path, m.inFeatures, m.outFeatures, { bias: m.bias, trainable });
  const adapt = (x: Tensor, m: LinearModule, y: Tensor): Tensor => {
    const adapter = options.lora?.modules.get(m.path);
    if (!adapter) return y;
    const a = g.param(`${m.path}.lora_A.weight`, [adapter.rank, m.inFeatures]);
    const b = g.param(`${m.path}.lora_B.weight`, [m.outFeatures, adapter.rank]);
    const seed = loraDropoutSeed(options.dropoutSeed ?? 0, adapters++);
    const input = dropout > 0 ? dropoutOf(x, dropout, seed) : x;
    return add(
      y,
      gemm(linear(input, { weight: a }), b, undefined, { transB: true, alpha: adapter.scale }),
    );
  };
  return (x, ...modules) => {
    const fuse =
      options.fusedProjections &&
      modules.length > 1 &&
      modules.every((m) => m.bias === modules[0].bias);
    if (!fuse) return modules.map((m) => adapt(x, m, linear(x, declare(m))));
    const params = modules.map(declare);
    const weight = concat(
      params.map((p) => p.weight),
      0,
    ); // [sum(out), in]
    const bias = modules[0].bias
      ? concat(
          params.map((p) => p.bias!),
          0,
        )
      : undefined;
    const parts = split(
      linear(x, { weight, bias }),
      modules.map((m) => m.outFeatures),
      -1,
    );
    return parts.map((y, i) => adapt(x, modules[i], y));
  };
}

/**
 * Inverted dropout with ONNX Runtime's seeded generator: ONNX `Dropout` applied to ones gives
 * the scaled keep-mask, and multiplying by it keeps the gradient rule a plain Mul. Its
 * training-mode flag is computed from the data (`x[0] == x[0]`) because ORT's optimizer
 * deletes a Dropout whose flag is a constant. The generator advances from run to run of one
 * session; a new session starts the sequence again.
 */
function dropoutOf(x: Tensor, rate: number, seed: number): Tensor {
  const g = x.graph;
  const first = gather(reshape(x, [-1]), 0);
  const mask = g.addNode(
    'Dropout',
    [constantOfShape(shape(x), 1, x.dtype), g.scalar(rate, x.dtype), equal(first, first)],
    { seed: { kind: 'int', value: seed } },
    [{ dtype: x.dtype, shape: x.shape }],
  )[0];
  return mul(x, mask);
}
