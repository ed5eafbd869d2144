import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isLoraTarget,
  loraScale,
  parseLoraConfig,
  readLoraAdapter,
  writeLoraAdapter,
  type LoraConfig,
  type LoraWeights,
} from './lora-io.ts';
import { writeSafetensors } from './safetensors.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-lora-'));
const config: LoraConfig = {
  r: 2,
  alpha: 8,
  dropout: 0.05,
  targetModules: ['q_proj', 'v_proj'],
  baseModel: 'tiny-llama',
};
const pair = (out: number, inp: number, r: number, seed: number) => ({
  a: { shape: [r, inp], data: Float32Array.from({ length: r * inp }, (_, i) => seed + i / 7) },
  b: { shape: [out, r], data: Float32Array.from({ length: out * r }, (_, i) => seed - i / 3) },
});

describe('writeLoraAdapter / readLoraAdapter', () => {
  it('round-trips weights and config in PEFT names and layout', async () => {
    const dir = scratch();
    const weights: LoraWeights = new Map([
      ['model.layers.0.self_attn.q_proj', pair(8, 8, 2, 1)],
      ['model.layers.0.self_attn.v_proj', pair(4, 8, 2, 2)],
    ]);
    await writeLoraAdapter(dir, config, weights);
    const json = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(json).toMatchObject({
      peft_type: 'LORA',
      r: 2,
      lora_alpha: 8,
      task_type: 'CAUSAL_LM',
      target_modules: ['q_proj', 'v_proj'],
    });
    const bytes = readFileSync(join(dir, 'adapter_model.safetensors'));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
    expect(header['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'].shape).toEqual([
      2, 8,
    ]);
    expect(header['base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight'].shape).toEqual([
      4, 2,
    ]);
    const back = await readLoraAdapter(dir);
    expect(back.config).toEqual({ ...config, useRslora: false, rankPattern: {}, alphaPattern: {} });
    expect(back.weights).toEqual(weights);
  });

  it('names the tensor when one half of a pair is missing or a name is foreign', async () => {
    const dir = scratch();
    await writeLoraAdapter(
      dir,
      config,
      new Map([['model.layers.0.self_attn.q_proj', pair(4, 4, 2, 0)]]),
    );
    const { a } = pair(4, 4, 2, 0);
    await writeSafetensors(join(dir, 'adapter_model.safetensors'), [
      ['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', a],
    ]);
    await expect(readLoraAdapter(dir)).rejects.toThrow(
      /q_proj\.lora_B\.weight: missing the other half/,
    );
    await writeSafetensors(join(dir, 'adapter_model.safetensors'), [
      ['base_model.model.lm_head.weight', a],
    ]);
    await expect(readLoraAdapter(dir)).rejects.toThrow(/lm_head\.weight: not a LoRA A\/B weight/);
  });
});

describe('parseLoraConfig', () => {
  it.each([
    [{ use_dora: true }, /use_dora: DoRA adapters are not supported/],
    [{ bias: 'all' }, /bias: only "none"/],
    [{ target_modules: '.*proj' }, /target_modules: must be a list/],
    [{ r: 0 }, /r: must be a positive number/],
  ])('rejects %j naming the field', (patch, message) => {
    const file = join(scratch(), 'adapter_config.json');
    writeFileSync(file, '{}');
    expect(() =>
      parseLoraConfig(
        { peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj'], ...patch },
        file,
      ),
    ).toThrow(message);
  });
});

describe('loraScale / isLoraTarget', () => {
  it('scale is alpha/r, alpha/sqrt(r) with rsLoRA, with per-module patterns', () => {
    expect(loraScale(config, 'model.layers.0.self_attn.q_proj')).toBe(4);
    expect(loraScale({ ...config, r: 4, useRslora: true }, 'x.q_proj')).toBe(4);
    const patterned = {
      ...config,
      rankPattern: { 'layers.1.self_attn.q_proj': 4 },
      alphaPattern: { v_proj: 2 },
    };
    expect(loraScale(patterned, 'model.layers.1.self_attn.q_proj')).toBe(2);
    expect(loraScale(patterned, 'model.layers.0.self_attn.v_proj')).toBe(1);
  });

  it('matches whole trailing name parts only', () => {
    expect(isLoraTarget(config, 'model.layers.3.self_attn.q_proj')).toBe(true);
    expect(isLoraTarget(config, 'model.layers.3.self_attn.xq_proj')).toBe(false);
    expect(isLoraTarget(config, 'model.layers.3.self_attn.o_proj')).toBe(false);
  });
});
