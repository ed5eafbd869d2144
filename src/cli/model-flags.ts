import { loadModel, type CausalLM } from '../model/causal-lm.ts';
import { loadLora } from '../model/lora.ts';
import type { SamplingOptions } from '../model/sampler.ts';
import {
  intFlag,
  numberFlag,
  requiredFlag,
  stringFlag,
  threadsFlag,
  type CommandContext,
  type FlagSpec,
} from './command.ts';

/** Flags that pick a model folder and an optional LoRA adapter. */
export const modelFlags: Record<string, FlagSpec> = {
  model: {
    type: 'string',
    value: 'DIR',
    description: 'Hugging Face model folder (config.json, *.safetensors, tokenizer.json)',
  },
  adapter: {
    type: 'string',
    value: 'DIR',
    description: 'PEFT LoRA adapter folder to apply on top',
  },
  threads: threadsFlag,
};

/** Sampling flags shared by `generate` (the server takes them per request instead). */
export const samplingFlags: Record<string, FlagSpec> = {
  temperature: {
    type: 'string',
    value: 'T',
    description: 'Sampling temperature; 0 = greedy',
    default: '0',
  },
  'top-k': {
    type: 'string',
    value: 'K',
    description: 'Sample among the K most likely tokens (0 = all)',
  },
  'top-p': { type: 'string', value: 'P', description: 'Nucleus sampling threshold in (0, 1]' },
  'repetition-penalty': {
    type: 'string',
    value: 'R',
    description: 'Penalise tokens already in the context (> 1)',
  },
  seed: { type: 'string', value: 'N', description: 'Sampling seed', default: '0' },
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
