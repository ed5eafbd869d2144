import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.ts';
import { readCheckpoint } from './checkpoint.ts';
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
  ])('rejects %j naming the field', (patch, message) => {
    expect(() => parseModelConfig({ ...qwen25, ...patch }, 'config.json')).toThrow(message);
  });

  it.each([
    ['num_hidden_layers', 1e9, '1000000000 is not a whole number between 1 and 1024'],
    ['num_hidden_layers', 0, '0 is not a whole number between 1 and 1024'],
    ['num_hidden_layers', 12.5, '12.5 is not a whole number between 1 and 1024'],
    ['num_hidden_layers', '24', '"24" is not a whole number between 1 and 1024'],
    ['hidden_size', 4194304, '4194304 is not a whole number between 1 and 65536'],
    ['hidden_size', -1, '-1 is not a whole number between 1 and 65536'],
    ['hidden_size', 900, '900 is not a multiple of num_attention_heads 14'],
    ['vocab_size', 5e6, '5000000 is not a whole number between 1 and 4194304'],
    ['intermediate_size', 300000, '300000 is not a whole number between 1 and 262144'],
    ['num_attention_heads', 2048, '2048 is not a whole number between 1 and 1024'],
    ['num_key_value_heads', 1.5, '1.5 is not a whole number between 1 and 1024'],
    ['head_dim', 1e6, '1000000 is not a whole number between 1 and 16384'],
    ['max_position_embeddings', 2 ** 25, '33554432 is not a whole number between 1 and 16777216'],
    ['rope_theta', JSON.parse('1e999'), 'Infinity is not a positive finite number'],
    ['rope_theta', 0, '0 is not a positive finite number'],
    ['rms_norm_eps', 1, '1 is not a number in (0, 1)'],
    ['rms_norm_eps', 0, '0 is not a number in (0, 1)'],
  ])('rejects %s = %s naming the file and field', (field, value, reason) => {
    expect(() => parseModelConfig({ ...qwen25, [field]: value }, '/m/config.json')).toThrow(
      `/m/config.json: ${field}: ${reason}`,
    );
  });

  it('accepts the shapes of the largest Llama/Qwen2 releases', () => {
    // Llama 3.1 405B and Qwen2.5 72B, as their config.json files give their sizes.
    const llama405 = {
      ...llama32,
      hidden_size: 16384,
      intermediate_size: 53248,
      num_hidden_layers: 126,
      num_attention_heads: 128,
      num_key_value_heads: 8,
      head_dim: 128,
      tie_word_embeddings: false,
    };
    expect(Math.round(parameterCount(parseModelConfig(llama405)) / 1e9)).toBe(406);
    const qwen72 = {
      ...qwen25,
      hidden_size: 8192,
      intermediate_size: 29568,
      num_hidden_layers: 80,
      num_attention_heads: 64,
      num_key_value_heads: 8,
      vocab_size: 152064,
      tie_word_embeddings: false,
    };
    expect(Math.round(parameterCount(parseModelConfig(qwen72)) / 1e9)).toBe(73);
  });

  it('rejects a config whose sizes multiply past the parameter limit, naming the file', () => {
    const huge = {
      ...qwen25,
      hidden_size: 65536,
      num_attention_heads: 512,
      num_hidden_layers: 512,
    };
    expect(() => parseModelConfig(huge, '/m/config.json')).toThrow(
      /^\/m\/config\.json: describes 4.91T parameters, over the 1T limit/,
    );
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

describe('building a model from a folder', () => {
  it('turns an allocation failure into an error naming the folder and the memory needed', async () => {
    // Qwen2-7B's sizes: a valid config, but 7.6B float32 weights exceed one typed array.
    const dir = mkdtempSync(join(tmpdir(), 'finemed-cfg-'));
    const qwen7 = {
      ...qwen25,
      hidden_size: 3584,
      intermediate_size: 18944,
      num_hidden_layers: 28,
      num_attention_heads: 28,
      num_key_value_heads: 4,
      vocab_size: 152064,
      tie_word_embeddings: false,
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(qwen7));
    const error = (await readCheckpoint(dir).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(
      new RegExp(
        `^${dir}: cannot allocate the weights of 7.62B parameters \\(28.4 GiB as float32\\)`,
      ),
    );
  });
});
