import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/atomic.ts';
import { InputError } from '../core/errors.ts';
import { readJsonObject } from './json-file.ts';
import {
  readSafetensors,
  writeSafetensors,
  type NamedTensor,
  type SaveDtype,
} from './safetensors.ts';

/** A LoRA adapter's hyper-parameters, as PEFT's `adapter_config.json` states them. */
export interface LoraConfig {
  /** Rank of the update `B·A`. */
  r: number;
  /** Scale numerator: the update is multiplied by `alpha / r` (or `alpha / sqrt(r)` with rsLoRA). */
  alpha: number;
  /** Dropout on the adapter's input during training. */
  dropout: number;
  /** Module names (`q_proj`, `v_proj`...) the adapter attaches to; matched on the last name part(s). */
  targetModules: string[];
  /** Scale by `alpha / sqrt(r)` (rank-stabilised LoRA). */
  useRslora?: boolean;
  /** Per-module rank overrides, keyed by a module-name pattern (PEFT's `rank_pattern`). */
  rankPattern?: Record<string, number>;
  /** Per-module alpha overrides (PEFT's `alpha_pattern`). */
  alphaPattern?: Record<string, number>;
  /** The base model the adapter was trained on. */
  baseModel?: string;
}

/** One adapted linear layer: `W + scale · B·A`, A `[r, in]`, B `[out, r]`. */
export interface LoraPair {
  /** Down-projection `[r, in]`. */
  a: NamedTensor;
  /** Up-projection `[out, r]`. */
  b: NamedTensor;
}

/** Adapter weights by module path, e.g. `model.layers.0.self_attn.q_proj`. */
export type LoraWeights = Map<string, LoraPair>;

const PREFIX = 'base_model.model.';
const NAME = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/;

/** Whether `modulePath` is targeted: its last dotted parts equal a target name (PEFT's rule). */
export function isLoraTarget(config: LoraConfig, modulePath: string): boolean {
  return config.targetModules.some((t) => modulePath === t || modulePath.endsWith(`.${t}`));
}

function patternValue(
  patterns: Record<string, number> | undefined,
  modulePath: string,
): number | undefined {
  for (const [key, value] of Object.entries(patterns ?? {})) {
    if (modulePath === key || modulePath.endsWith(`.${key}`)) return value;
  }
  return undefined;
}

/** The rank of a module's adapter (`rank_pattern` first, else `r`). */
export function loraRank(config: LoraConfig, modulePath: string): number {
  return patternValue(config.rankPattern, modulePath) ?? config.r;
}

/** The factor the update `B·A` of a module is multiplied by. */
export function loraScale(config: LoraConfig, modulePath: string): number {
  const alpha = patternValue(config.alphaPattern, modulePath) ?? config.alpha;
  const r = loraRank(config, modulePath);
  return config.useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

/** Reads a PEFT adapter folder (`adapter_config.json` + `adapter_model.safetensors`). */
export async function readLoraAdapter(
  dir: string,
): Promise<{ config: LoraConfig; weights: LoraWeights }> {
  const configPath = join(dir, 'adapter_config.json');
  const raw = await readJsonObject(configPath);
  const config = parseLoraConfig(raw, configPath);
  const weightsPath = join(dir, 'adapter_model.safetensors');
  if (!existsSync(weightsPath)) {
    throw new InputError('missing adapter_model.safetensors (adapter_model.bin is not supported)', {
      file: dir,
    });
  }
  const tensors = await readSafetensors(weightsPath);
  const halves = new Map<string, Partial<LoraPair>>();
  for (const [name, tensor] of tensors) {
    const match = NAME.exec(name);
    if (!match) {
      throw new InputError('not a LoRA A/B weight of a linear layer', {
        file: weightsPath,
        field: name,
      });
    }
    const pair = halves.get(match[1]) ?? {};
    pair[match[2] === 'A' ? 'a' : 'b'] = tensor;
    halves.set(match[1], pair);
  }
  const weights: LoraWeights = new Map();
  for (const [module, pair] of halves) {
    const field = `${PREFIX}${module}.lora_${pair.a ? 'B' : 'A'}.weight`;
    if (!pair.a || !pair.b)
      throw new InputError('missing the other half of the pair', { file: weightsPath, field });
    if (
      pair.a.shape.length !== 2 ||
      pair.b.shape.length !== 2 ||
      pair.a.shape[0] !== pair.b.shape[1]
    ) {
      throw new InputError(
        `A ${JSON.stringify(pair.a.shape)} and B ${JSON.stringify(pair.b.shape)} do not form a rank-r update`,
        { file: weightsPath, field: `${PREFIX}${module}.lora_A.weight` },
      );
    }
    weights.set(module, { a: pair.a, b: pair.b });
  }
  return { config, weights };
}

/** Validates an `adapter_config.json` object; options that change the computation and are not implemented are errors. */
export function parseLoraConfig(raw: Record<string, unknown>, file?: string): LoraConfig {
  const fail = (field: string, reason: string): never => {
    throw new InputError(reason, { file, field });
  };
  if (raw.peft_type !== undefined && raw.peft_type !== 'LORA')
    fail('peft_type', `only LORA is supported, got ${JSON.stringify(raw.peft_type)}`);
  if (raw.use_dora) fail('use_dora', 'DoRA adapters are not supported');
  if (raw.bias !== undefined && raw.bias !== 'none')
    fail('bias', `only "none" is supported, got ${JSON.stringify(raw.bias)}`);
  if (raw.fan_in_fan_out)
    fail(
      'fan_in_fan_out',
      'only Llama/Qwen2-style linear layers (fan_in_fan_out false) are supported',
    );
  if (Array.isArray(raw.modules_to_save) && raw.modules_to_save.length > 0) {
    fail('modules_to_save', 'adapters that carry full module copies are not supported');
  }
  const positive = (field: string): number => {
    const v = raw[field];
    if (typeof v !== 'number' || !(v > 0))
      return fail(field, `must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const targets = raw.target_modules;
  if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'string')) {
    fail(
      'target_modules',
      'must be a list of module names (regular-expression targets are not supported)',
    );
  }
  const dropout = raw.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || dropout < 0 || dropout >= 1)
    fail('lora_dropout', `must be in [0, 1), got ${JSON.stringify(dropout)}`);
  return {
    r: positive('r'),
    alpha: positive('lora_alpha'),
    dropout: dropout as number,
    targetModules: targets as string[],
    useRslora: raw.use_rslora === true,
    rankPattern: (raw.rank_pattern ?? {}) as Record<string, number>,
    alphaPattern: (raw.alpha_pattern ?? {}) as Record<string, number>,
    ...(typeof raw.base_model_name_or_path === 'string'
      ? { baseModel: raw.base_model_name_or_path }
      : {}),
  };
}

/** The `adapter_config.json` PEFT writes for a LoRA adapter of a causal LM. */
export function loraConfigToJson(config: LoraConfig): Record<string, unknown> {
  return {
    alpha_pattern: config.alphaPattern ?? {},
    auto_mapping: null,
    base_model_name_or_path: config.baseModel ?? null,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: config.alpha,
    lora_dropout: config.dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: config.r,
    rank_pattern: config.rankPattern ?? {},
    revision: null,
    target_modules: config.targetModules,
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: config.useRslora ?? false,
  };
}

/** Writes a PEFT adapter folder, each file atomically. */
export async function writeLoraAdapter(
  dir: string,
  config: LoraConfig,
  weights: LoraWeights,
  options: { dtype?: SaveDtype } = {},
): Promise<void> {
  const tensors: [string, NamedTensor][] = [];
  for (const [module, pair] of [...weights].sort(([x], [y]) => x.localeCompare(y))) {
    tensors.push(
      [`${PREFIX}${module}.lora_A.weight`, pair.a],
      [`${PREFIX}${module}.lora_B.weight`, pair.b],
    );
  }
  await writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors, { dtype: options.dtype });
  await writeJsonAtomic(join(dir, 'adapter_config.json'), loraConfigToJson(config));
}
