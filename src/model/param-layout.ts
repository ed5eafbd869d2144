import type { ParamSpec } from '../engine/index.ts';
import type { ModelConfig } from './config.ts';

/** One linear layer of the decoder, by its Hugging Face module path. */
export interface LinearModule {
  /** e.g. `model.layers.0.self_attn.q_proj`. */
  path: string;
  /** Input features. */
  inFeatures: number;
  /** Output features. */
  outFeatures: number;
  /** Whether it carries a bias. */
  bias: boolean;
}

/** Every linear layer of a decoder (the output head excluded), in Hugging Face's order. */
export function linearModules(config: ModelConfig): LinearModule[] {
  const d = config.hiddenSize;
  const q = config.numHeads * config.headDim;
  const kv = config.numKvHeads * config.headDim;
  const f = config.intermediateSize;
  const out: LinearModule[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const a = `model.layers.${i}.self_attn`;
    const m = `model.layers.${i}.mlp`;
    out.push(
      { path: `${a}.q_proj`, inFeatures: d, outFeatures: q, bias: config.qkvBias },
      { path: `${a}.k_proj`, inFeatures: d, outFeatures: kv, bias: config.qkvBias },
      { path: `${a}.v_proj`, inFeatures: d, outFeatures: kv, bias: config.qkvBias },
      { path: `${a}.o_proj`, inFeatures: q, outFeatures: d, bias: config.outputBias },
      { path: `${m}.gate_proj`, inFeatures: d, outFeatures: f, bias: config.mlpBias },
      { path: `${m}.up_proj`, inFeatures: d, outFeatures: f, bias: config.mlpBias },
      { path: `${m}.down_proj`, inFeatures: f, outFeatures: d, bias: config.mlpBias },
    );
  }
  return out;
}

/** The decoder's parameters with Hugging Face names and shapes, in checkpoint order. */
export function decoderParamSpecs(config: ModelConfig): ParamSpec[] {
  const d = config.hiddenSize;
  const specs: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [config.vocabSize, d] }];
  const modules = linearModules(config);
  for (let i = 0; i < config.numLayers; i++) {
    specs.push({ name: `model.layers.${i}.input_layernorm.weight`, shape: [d] });
    for (const m of modules.slice(i * 7, i * 7 + 7)) {
      specs.push({ name: `${m.path}.weight`, shape: [m.outFeatures, m.inFeatures] });
      if (m.bias) specs.push({ name: `${m.path}.bias`, shape: [m.outFeatures] });
      if (m.path.endsWith('o_proj')) {
        specs.push({ name: `model.layers.${i}.post_attention_layernorm.weight`, shape: [d] });
      }
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
