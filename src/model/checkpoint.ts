import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/atomic.ts';
import { InputError } from '../core/errors.ts';
import { ParamSet } from '../engine/index.ts';
import {
  modelConfigToJson,
  readModelConfig,
  withAllocationCheck,
  type ModelConfig,
} from './config.ts';
import { decoderParamSpecs } from './param-layout.ts';
import type { NamedTensor, SaveDtype } from './safetensors.ts';
import { WeightsFolder, writeWeightsFolder } from './weights-folder.ts';

/** A model folder's configuration and weights. */
export interface LoadedCheckpoint {
  /** The validated configuration. */
  config: ModelConfig;
  /** `config.json` as found (saved back with our fields overlaid, so unknown fields survive). */
  rawConfig: Record<string, unknown>;
  /** The weights in one arena, Hugging Face names. */
  params: ParamSet;
}

/**
 * Reads `config.json` and the safetensors weights of a Hugging Face model folder. Every
 * tensor the config implies must be present with the right shape; errors name the file and
 * tensor. A tied model may also carry `lm_head.weight` (it is ignored, as transformers does).
 */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath))
    throw new InputError('not a model folder: no config.json', { file: dir });
  const { config, raw } = await readModelConfig(configPath);
  const specs = decoderParamSpecs(config);
  // Releasable: attaching LoRA frees it at once (prepareLora), the base then living in sessions.
  const params = await withAllocationCheck(config, dir, () => ParamSet.releasable(specs));
  const weights = await WeightsFolder.open(dir);
  try {
    // Straight into the arena: the only large allocation is the arena itself.
    await weights.readAllInto(
      specs.map((spec) => ({ name: spec.name, shape: spec.shape, dest: params.view(spec.name) })),
    );
    params.adoptSource(weights.source());
  } finally {
    await weights.close();
  }
  return { config, rawConfig: raw, params };
}

/** Options for {@link writeCheckpoint}. */
export interface SaveOptions {
  /** Weight element type on disk (default F32; BF16 halves the size, rounding to nearest even). */
  dtype?: SaveDtype;
  /** Fields of an original `config.json` to keep (ours take precedence). */
  rawConfig?: Record<string, unknown>;
}

/** Writes `config.json`, `generation_config.json` and the weights of a decoder, each atomically. */
export async function writeCheckpoint(
  dir: string,
  config: ModelConfig,
  params: ParamSet,
  options: SaveOptions = {},
): Promise<void> {
  const tensors = decoderParamSpecs(config).map((spec): [string, NamedTensor] => [
    spec.name,
    { shape: [...spec.shape], data: params.view(spec.name) },
  ]);
  await writeWeightsFolder(dir, tensors, { dtype: options.dtype });
  const json = { ...(options.rawConfig ?? {}), ...modelConfigToJson(config) };
  json.torch_dtype = options.dtype === 'BF16' ? 'bfloat16' : 'float32';
  await writeJsonAtomic(join(dir, 'config.json'), json);
  await writeJsonAtomic(join(dir, 'generation_config.json'), {
    bos_token_id: config.bosTokenId ?? null,
    eos_token_id: config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds,
    pad_token_id: config.padTokenId ?? null,
  });
}
