import { loadModel, type CausalLM } from '../model/causal-lm.ts';
import { MODEL_PRESETS } from '../model/init.ts';
import { loadLora } from '../model/lora.ts';
import type { SamplingOptions } from '../model/sampler.ts';
import { intFlag, numberFlag, requiredFlag, stringFlag } from './command.ts';
import type { CommandContext } from './command.ts';
import { threadsFlag, valueFlag, type FlagSpec } from './flags.ts';

/** Flags that pick a model folder and an optional LoRA adapter. */
export const modelFlags: Record<string, FlagSpec> = {
  model: valueFlag('DIR', 'Hugging Face model folder (config.json, *.safetensors, tokenizer.json)'),
  adapter: valueFlag('DIR', 'PEFT LoRA adapter folder to apply on top'),
  threads: threadsFlag,
};

/** `--model DIR` or `--preset`: a benchmark's model, a folder or a built-in one. */
export const benchModelFlags: Record<string, FlagSpec> = {
  model: valueFlag('DIR', 'A model folder instead of a preset'),
  preset: valueFlag(MODEL_PRESETS.join('|'), 'Built-in model size', 'demo'),
};

/** Sampling flags shared by `generate` (the server takes them per request instead). */
export const samplingFlags: Record<string, FlagSpec> = {
  temperature: valueFlag('T', 'Sampling temperature; 0 = greedy', '0'),
  'top-k': valueFlag('K', 'Sample among the K most likely tokens (0 = all)'),
  'top-p': valueFlag('P', 'Nucleus sampling threshold in (0, 1]'),
  'repetition-penalty': valueFlag('R', 'Penalise tokens already in the context (> 1)'),
  seed: valueFlag('N', 'Sampling seed', '0'),
};

/** Loads `--model` (and `--adapter`). */
export async function loadModelFromFlags(ctx: CommandContext): Promise<CausalLM> {
  const threads = intFlag(ctx, 'threads', { min: 1, max: 256 });
  const model = await loadModel(requiredFlag(ctx, 'model'), {
    session: threads ? { threads } : {},
  });
  const adapter = stringFlag(ctx, 'adapter');
  if (adapter) await loadLora(model, adapter);
  return model;
}

/** The sampling options given by {@link samplingFlags}. */
export function samplingFromFlags(ctx: CommandContext): SamplingOptions {
  return {
    temperature: numberFlag(ctx, 'temperature', { min: 0, max: 100 }) ?? 0,
    topK: intFlag(ctx, 'top-k', { min: 0 }) ?? 0,
    topP: numberFlag(ctx, 'top-p', { min: Number.MIN_VALUE, max: 1 }) ?? 1,
    repetitionPenalty: numberFlag(ctx, 'repetition-penalty', { min: Number.MIN_VALUE }) ?? 1,
    seed: intFlag(ctx, 'seed') ?? 0,
  };
}
