import type { ParamSpec } from '../engine/index.ts';
import type { ModelConfig } from './config.ts';

/** One linear layer of the decoder, by its Hugging Face module path. */
export interface LinearModule {
  /** e.g. `model.layers.0.self_attn.q_proj`. */
  path: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
}

type Width = (config: ModelConfig) => number;
const hidden: Width = (c) => c.hiddenSize;
const queries: Width = (c) => c.numHeads * c.headDim;
const keyValues: Width = (c) => c.numKvHeads * c.headDim;
const intermediate: Width = (c) => c.intermediateSize;

/**
 * The architecture table: every projection of a decoder layer in checkpoint order, as
 * `[block, name, input width, output width, which config flag gives it a bias]`. The decoder's
 * forward, the parameter layout, LoRA's targets and `ALL_LINEAR` are all read from it, so a
 * projection is added or resized here only.
 */
const PROJECTIONS = [
  ['self_attn', 'q_proj', hidden, queries, 'qkvBias'],
  ['self_attn', 'k_proj', hidden, keyValues, 'qkvBias'],
  ['self_attn', 'v_proj', hidden, keyValues, 'qkvBias'],
  ['self_attn', 'o_proj', queries, hidden, 'outputBias'],
  ['mlp', 'gate_proj', hidden, intermediate, 'mlpBias'],
  ['mlp', 'up_proj', hidden, intermediate, 'mlpBias'],
  ['mlp', 'down_proj', intermediate, hidden, 'mlpBias'],
] as const satisfies readonly (readonly [string, string, Width, Width, keyof ModelConfig])[];

/** The RMSNorm in front of each block of a layer, by block. */
const BLOCK_NORMS = { self_attn: 'input_layernorm', mlp: 'post_attention_layernorm' } as const;

/** Layer `layer`'s RMSNorm weight names, by the block each feeds. */
export function layerNorms(layer: number): Record<keyof typeof BLOCK_NORMS, string> {
  const name = (norm: string) => `model.layers.${layer}.${norm}.weight`;
  return { self_attn: name(BLOCK_NORMS.self_attn), mlp: name(BLOCK_NORMS.mlp) };
}

/** A projection's short name, as PEFT's `target_modules` spell it. */
export type ProjectionName = (typeof PROJECTIONS)[number][1];

/** Every projection name of a decoder layer, in checkpoint order. */
export const PROJECTION_NAMES: readonly ProjectionName[] = PROJECTIONS.map((p) => p[1]);

/** Layer `layer`'s projections by short name, with their paths and sizes under `config`. */
export function layerProjections(
  config: ModelConfig,
  layer: number,
): Record<ProjectionName, LinearModule> {
  const entries = PROJECTIONS.map(([block, name, inFeatures, outFeatures, bias]) => [
    name,
    {
      path: `model.layers.${layer}.${block}.${name}`,
      inFeatures: inFeatures(config),
      outFeatures: outFeatures(config),
      bias: config[bias],
    },
  ]);
  return Object.fromEntries(entries) as Record<ProjectionName, LinearModule>;
}

/** Every linear layer of a decoder (the output head excluded), in checkpoint order. */
export function linearModules(config: ModelConfig): LinearModule[] {
  return Array.from({ length: config.numLayers }, (_, i) =>
    Object.values(layerProjections(config, i)),
  ).flat();
}

/** The output head's weight name: the token embedding when the model ties them. */
export function headWeightName(config: ModelConfig): string {
  return config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
}

/** The decoder's parameters with Hugging Face names and shapes, in checkpoint order. */
export function decoderParamSpecs(config: ModelConfig): ParamSpec[] {
  const d = config.hiddenSize;
  const specs: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [config.vocabSize, d] }];
  for (let i = 0; i < config.numLayers; i++) {
    const norms = layerNorms(i);
    const projections = layerProjections(config, i);
    let previous: string | undefined;
    for (const [block, name] of PROJECTIONS) {
      // A block's RMSNorm comes before its projections.
      if (block !== previous) specs.push({ name: norms[block], shape: [d] });
      previous = block;
      const m = projections[name];
      specs.push({ name: `${m.path}.weight`, shape: [m.outFeatures, m.inFeatures] });
      if (m.bias) specs.push({ name: `${m.path}.bias`, shape: [m.outFeatures] });
    }
  }
  specs.push({ name: 'model.norm.weight', shape: [d] });
  if (!config.tieWordEmbeddings)
    specs.push({ name: 'lm_head.weight', shape: [config.vocabSize, d] });
  return specs;
}

/** LoRA adapters to put into a graph: `W x + scale · B (A x)` on each listed module. */
export interface LoraGraphSpec {
  /** Adapted modules by path, with their rank and scale. */
  modules: ReadonlyMap<string, { rank: number; scale: number }>;
  /** Dropout on the adapter input in training graphs (0 = none). */
  dropout: number;
}

/** Parameter specs of LoRA adapters (`<module>.lora_A.weight` `[r, in]`, `<module>.lora_B.weight` `[out, r]`). */
export function loraParamSpecs(config: ModelConfig, lora: LoraGraphSpec): ParamSpec[] {
  const byPath = new Map(linearModules(config).map((m) => [m.path, m]));
  const specs: ParamSpec[] = [];
  for (const [path, { rank }] of lora.modules) {
    const m = byPath.get(path);
    if (!m) throw new Error(`LoRA: the model has no linear layer '${path}'`);
    specs.push(
      { name: `${path}.lora_A.weight`, shape: [rank, m.inFeatures] },
      { name: `${path}.lora_B.weight`, shape: [m.outFeatures, rank] },
    );
  }
  return specs;
}
