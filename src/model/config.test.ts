import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelConfigToJson, parameterCount, parseModelConfig, readModelConfig } from './config.ts';

/** Fields as Qwen2.5-0.5B-Instruct's config.json has them (abridged only by irrelevant keys). */
const qwen25 = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.43.1',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

/** Llama-3.2-1B's config.json (abridged only by irrelevant keys). */
const llama32 = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 32.0,
    high_freq_factor: 4.0,
    low_freq_factor: 1.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  vocab_size: 128256,
};

describe('parseModelConfig', () => {
  it('reads a real Qwen2.5 config: GQA, qkv biases, tied head', () => {
    const c = parseModelConfig(qwen25);
    expect(c).toMatchObject({
      modelType: 'qwen2',
      numHeads: 14,
      numKvHeads: 2,
      headDim: 64,
      qkvBias: true,
      outputBias: false,
      tieWordEmbeddings: true,
      ropeTheta: 1e6,
      eosTokenIds: [151645],
      bosTokenId: 151643,
    });
    // The published size of Qwen2.5-0.5B is 494M parameters.
    expect(Math.round(parameterCount(c) / 1e6)).toBe(494);
  });

  it('reads a real Llama 3.2 config with llama3 rope scaling and several EOS ids', () => {
    const c = parseModelConfig(llama32);
    expect(c.ropeScaling).toEqual({
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    });
    expect(c.eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(c.qkvBias).toBe(false);
    expect(Math.round(parameterCount(c) / 1e6)).toBe(1236);
  });

  it('applies Hugging Face defaults for omitted fields', () => {
    const c = parseModelConfig({
      model_type: 'llama',
      vocab_size: 10,
      hidden_size: 8,
      intermediate_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
    });
    expect(c).toMatchObject({
      numKvHeads: 2,
      headDim: 4,
      rmsNormEps: 1e-6,
      ropeTheta: 10000,
      maxPositions: 2048,
    });
    expect(c.tieWordEmbeddings).toBe(false);
  });

  it.each([
    [{ model_type: 'gpt2' }, /model_type: unsupported model_type "gpt2"/],
    [
      { use_sliding_window: true },
      /use_sliding_window: sliding-window attention is not implemented/,
    ],
    [{ hidden_act: 'gelu' }, /hidden_act: unsupported activation "gelu"/],
    [
      { rope_scaling: { rope_type: 'yarn', factor: 4 } },
      /rope_scaling\.rope_type: unsupported rope scaling "yarn"/,
    ],
    [{ num_key_value_heads: 3 }, /num_key_value_heads: 3 does not divide num_attention_heads 14/],
    [{ hidden_size: -1 }, /hidden_size: must be a positive integer/],
  ])('rejects %j naming the field', (patch, message) => {
    expect(() => parseModelConfig({ ...qwen25, ...patch }, 'config.json')).toThrow(message);
  });

  it('rejects a Mistral sliding window shorter than the context, accepts null', () => {
    const mistral = { ...qwen25, model_type: 'mistral', sliding_window: 4096 };
    expect(() => parseModelConfig(mistral)).toThrow(/sliding_window/);
    expect(parseModelConfig({ ...mistral, sliding_window: null }).qkvBias).toBe(false);
  });
});

describe('modelConfigToJson', () => {
  it('round-trips through parseModelConfig', () => {
    for (const raw of [qwen25, llama32]) {
      const c = parseModelConfig(raw);
      expect(parseModelConfig(modelConfigToJson(c))).toEqual(c);
    }
  });
});

describe('readModelConfig', () => {
  it('names the file when the JSON is malformed', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'finemed-cfg-')), 'config.json');
    writeFileSync(path, '{"model_type": "llama",');
    await expect(readModelConfig(path)).rejects.toThrow(/config\.json: not valid JSON/);
  });
});
