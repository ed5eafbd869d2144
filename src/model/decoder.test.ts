import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crossEntropy, Graph, TrainingStep } from '../engine/index.ts';
import { loadModel } from './causal-lm.ts';
import { parseModelConfig } from './config.ts';
import { buildDecoder, headWeight, loraDropoutSeed } from './decoder.ts';
import {
  decoderParamSpecs,
  layerProjections,
  linearModules,
  PROJECTION_NAMES,
} from './param-layout.ts';
import { int64Matrix } from './feeds.ts';
import { attachLora } from './lora.ts';
import { rotaryInverseFrequencies } from './rope.ts';

const fixture = (name: string): string =>
  join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', name);

describe('decoderParamSpecs / linearModules', () => {
  it('name and shape parameters as Hugging Face does, in checkpoint order', () => {
    const config = parseModelConfig({
      model_type: 'qwen2',
      vocab_size: 10,
      hidden_size: 8,
      intermediate_size: 12,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      num_key_value_heads: 2,
    });
    expect(decoderParamSpecs(config).map((s) => `${s.name}:${s.shape.join('x')}`)).toEqual([
      'model.embed_tokens.weight:10x8',
      'model.layers.0.input_layernorm.weight:8',
      'model.layers.0.self_attn.q_proj.weight:8x8',
      'model.layers.0.self_attn.q_proj.bias:8',
      'model.layers.0.self_attn.k_proj.weight:4x8',
      'model.layers.0.self_attn.k_proj.bias:4',
      'model.layers.0.self_attn.v_proj.weight:4x8',
      'model.layers.0.self_attn.v_proj.bias:4',
      'model.layers.0.self_attn.o_proj.weight:8x8',
      'model.layers.0.post_attention_layernorm.weight:8',
      'model.layers.0.mlp.gate_proj.weight:12x8',
      'model.layers.0.mlp.up_proj.weight:12x8',
      'model.layers.0.mlp.down_proj.weight:8x12',
      'model.norm.weight:8',
      'lm_head.weight:10x8',
    ]);
    expect(linearModules(config).map((m) => m.path.split('.').at(-1))).toEqual([
      'q_proj',
      'k_proj',
      'v_proj',
      'o_proj',
      'gate_proj',
      'up_proj',
      'down_proj',
    ]);
  });
});

describe('the architecture table', () => {
  const llama = parseModelConfig({
    model_type: 'llama',
    vocab_size: 10,
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 1,
    attention_bias: true,
    mlp_bias: true,
  });

  it('sizes each projection from the config and takes its bias from the matching flag', () => {
    const p = layerProjections(llama, 1);
    expect(Object.keys(p)).toEqual([...PROJECTION_NAMES]);
    expect(p.k_proj).toEqual({
      path: 'model.layers.1.self_attn.k_proj',
      inFeatures: 8,
      outFeatures: 2,
      bias: true,
    });
    expect([p.o_proj.inFeatures, p.o_proj.outFeatures, p.o_proj.bias]).toEqual([8, 8, true]);
    expect([p.down_proj.inFeatures, p.down_proj.outFeatures]).toEqual([12, 8]);
    const noMlpBias = layerProjections({ ...llama, mlpBias: false }, 0);
    expect([noMlpBias.up_proj.bias, noMlpBias.q_proj.bias]).toEqual([false, true]);
    expect(linearModules(llama).map((m) => m.path)).toEqual(
      [0, 1].flatMap((i) => Object.values(layerProjections(llama, i)).map((m) => m.path)),
    );
  });

  it('declares exactly the parameters decoderParamSpecs lists, with the same shapes', () => {
    for (const tie of [false, true]) {
      const config = { ...llama, tieWordEmbeddings: tie };
      const g = new Graph();
      buildDecoder(g, config, { inputIds: g.input('input_ids', 'int64', ['B', 'T']) });
      const declared = g.params.map((p) => `${p.name}:${p.shape.join('x')}`).sort();
      const listed = decoderParamSpecs(config).map((s) => `${s.name}:${s.shape.join('x')}`);
      expect(declared).toEqual(listed.sort());
    }
  });
});

describe('headWeight', () => {
  const config = parseModelConfig({
    model_type: 'qwen2',
    vocab_size: 10,
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 1,
    num_attention_heads: 2,
  });

  it('is the embedding when tied, else lm_head declared on first use, never twice', () => {
    for (const tie of [true, false]) {
      const g = new Graph();
      const ids = g.input('input_ids', 'int64', ['B', 'T']);
      buildDecoder(g, { ...config, tieWordEmbeddings: tie }, { inputIds: ids }, { logits: 'none' });
      const head = headWeight(g, { ...config, tieWordEmbeddings: tie }, false);
      const name = tie ? 'model.embed_tokens.weight' : 'lm_head.weight';
      expect(g.paramByName(name)?.tensor).toBe(head);
      expect(head.shape).toEqual([10, 8]);
      expect(headWeight(g, { ...config, tieWordEmbeddings: tie })).toBe(head);
      expect(g.params.filter((p) => p.name === name)).toHaveLength(1);
      // Frozen when declared here as asked; a tied head keeps the embedding's own flag.
      expect(g.paramByName(name)?.trainable).toBe(tie);
    }
  });
});

describe('LoRA dropout seeds', () => {
  it('give every adapter of a training graph its own seed, derived from the run seed', () => {
    const config = parseModelConfig({
      model_type: 'qwen2',
      vocab_size: 10,
      hidden_size: 8,
      intermediate_size: 12,
      num_hidden_layers: 2,
      num_attention_heads: 2,
    });
    const modules = new Map(
      linearModules(config)
        .filter((m) => /[qv]_proj$/.test(m.path))
        .map((m) => [m.path, { rank: 2, scale: 1 }]),
    );
    const seeds = (runSeed: number): number[] => {
      const g = new Graph();
      const ids = g.input('input_ids', 'int64', ['B', 'T']);
      const lora = { modules, dropout: 0.1 };
      buildDecoder(g, config, { inputIds: ids }, { lora, training: true, dropoutSeed: runSeed });
      return g.nodes
        .filter((n) => n.op === 'Dropout')
        .map((n) => (n.attrs.seed as { value: number }).value);
    };
    expect(seeds(3)).toEqual([0, 1, 2, 3].map((i) => loraDropoutSeed(3, i)));
    expect(new Set([...seeds(3), ...seeds(4)]).size).toBe(8);
  });
});

describe('rotaryInverseFrequencies', () => {
  it('applies Llama 3 scaling: long wavelengths / factor, short kept, the band between blended', () => {
    const base = { modelType: 'llama', headDim: 8, ropeTheta: 500000 } as const;
    const plain = rotaryInverseFrequencies(base as never);
    const scaled64 = (originalMaxPositions: number): Float64Array =>
      rotaryInverseFrequencies({
        ...base,
        ropeScaling: {
          type: 'llama3',
          factor: 8,
          lowFreqFactor: 1,
          highFreqFactor: 4,
          originalMaxPositions,
        },
      } as never);
    // Wavelengths 2π/f are 6.28, 167, 4475 and 118k. With an original context of 64 the first is
    // shorter than 64/4 (kept) and the rest longer than 64/1 (divided by the factor).
    expect(scaled64(64)[0]).toBe(plain[0]);
    for (let i = 1; i < 4; i++) expect(scaled64(64)[i]).toBeCloseTo(plain[i] / 8, 12);
    // With 16, 6.28 lies between 16/4 and 16/1: blended with smooth = (16/6.28 - 1) / 3.
    const smooth = (16 / (2 * Math.PI) - 1) / 3;
    expect(scaled64(16)[0]).toBeCloseTo((1 - smooth) * (plain[0] / 8) + smooth * plain[0], 12);
  });
});

describe('the composed (training) forward', () => {
  it('gives gradients that agree with finite differences, for base weights and LoRA adapters', async () => {
    const model = await loadModel(fixture('llama_gqa_bias'), { session: { threads: 1 } });
    await attachLora(model, { r: 2, alpha: 4, targetModules: ['v_proj'], seed: 1 });
    model.params.setTrainable(() => true, true);
    // B starts at zero, which would make A's gradient zero; give it values.
    model.params
      .view('model.layers.0.self_attn.v_proj.lora_B.weight')
      .forEach((_, i, b) => (b[i] = 0.1 * Math.sin(i)));
    const build = async () => {
      const g = new Graph();
      const ids = g.input('input_ids', 'int64', ['B', 'T']);
      const targets = g.input('targets', 'int64', ['B', 'T']);
      const { logits } = buildDecoder(
        g,
        model.config,
        { inputIds: ids },
        { lora: model.lora!.spec },
      );
      return TrainingStep.create(g, crossEntropy(logits!, targets), model.params, { threads: 1 });
    };
    const step = await build();
    const feeds = {
      input_ids: int64Matrix([[3, 7, 1, 40, 22]]),
      targets: int64Matrix([[7, 1, 40, 22, 5]]),
    };
    await step.run(feeds);
    const checks = [
      'model.embed_tokens.weight',
      'model.layers.0.self_attn.q_proj.bias',
      'model.layers.1.mlp.down_proj.weight',
      'model.layers.1.post_attention_layernorm.weight',
      'model.layers.0.self_attn.v_proj.lora_A.weight',
      'lm_head.weight',
    ];
    for (const name of checks) {
      const grad = step.grads.view(name);
      const i = grad.reduce((best, g, k) => (Math.abs(g) > Math.abs(grad[best]) ? k : best), 0);
      const value = model.params.view(name);
      const original = value[i];
      const eps = 1e-2;
      value[i] = original + eps;
      const up = (await step.run(feeds)).loss;
      value[i] = original - eps;
      const down = (await step.run(feeds)).loss;
      value[i] = original;
      const numeric = (up - down) / (2 * eps);
      expect(Math.abs(numeric - grad[i]) / Math.abs(grad[i])).toBeLessThan(2e-2);
    }
    await step.dispose();
    await model.dispose();
  });
});
