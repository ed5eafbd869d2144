import { InputError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { ParamSet } from '../engine/index.ts';
import type { CausalLM } from './causal-lm.ts';
import {
  decoderParamSpecs,
  linearModules,
  loraParamSpecs,
  type LoraGraphSpec,
} from './param-layout.ts';
import {
  isLoraTarget,
  loraRank,
  loraScale,
  readLoraAdapter,
  writeLoraAdapter,
  type LoraConfig,
  type LoraWeights,
} from './lora-io.ts';
import { addLowRank } from './merge-lora.ts';
import type { SaveDtype } from './safetensors.ts';

/** Options for {@link attachLora}. */
export interface LoraOptions {
  /** Rank. */
  r: number;
  /** Scale numerator (the update is scaled by alpha / r). */
  alpha: number;
  /** Dropout on adapter inputs while training (default 0). */
  dropout?: number;
  /** Module names to adapt, e.g. `['q_proj', 'v_proj']`. */
  targetModules: string[];
  /** Scale by alpha / sqrt(r) instead. */
  useRslora?: boolean;
  /** Seed of A's initialisation (default 0). */
  seed?: number;
  /** Recorded as `base_model_name_or_path`. */
  baseModel?: string;
}

function graphSpec(model: CausalLM, config: LoraConfig): LoraGraphSpec {
  const modules = new Map<string, { rank: number; scale: number }>();
  for (const m of linearModules(model.config)) {
    if (isLoraTarget(config, m.path)) {
      modules.set(m.path, { rank: loraRank(config, m.path), scale: loraScale(config, m.path) });
    }
  }
  if (modules.size === 0) {
    throw new InputError(`no linear layer matches ${JSON.stringify(config.targetModules)}`, {
      field: 'target_modules',
    });
  }
  return { modules, dropout: config.dropout };
}

/** Lays out base (frozen) + adapter (trainable) parameters and makes the model use them. */
async function install(model: CausalLM, config: LoraConfig): Promise<LoraGraphSpec> {
  if (model.lora) throw new Error('LoRA adapters are already attached; merge or detach them first');
  const spec = graphSpec(model, config);
  const base = decoderParamSpecs(model.config).map((s) => ({ ...s, trainable: false }));
  const params = new ParamSet([...base, ...loraParamSpecs(model.config, spec)]);
  params.copyFrom(model.params);
  model.params = params;
  model.lora = { config, spec };
  await model.resetGraphs();
  return spec;
}

/**
 * Attaches fresh LoRA adapters as PEFT initialises them: A ~ U(-1/sqrt(in), 1/sqrt(in))
 * (kaiming-uniform with a = sqrt(5)), B = 0, so the model's output is unchanged until B
 * trains. Base weights become frozen; only adapter weights are trainable.
 */
export async function attachLora(model: CausalLM, options: LoraOptions): Promise<void> {
  const config: LoraConfig = {
    r: options.r,
    alpha: options.alpha,
    dropout: options.dropout ?? 0,
    targetModules: options.targetModules,
    useRslora: options.useRslora ?? false,
    ...(options.baseModel ? { baseModel: options.baseModel } : {}),
  };
  const spec = await install(model, config);
  const rng = new Rng(options.seed ?? 0);
  for (const path of spec.modules.keys()) {
    const name = `${path}.lora_A.weight`;
    const a = model.params.view(name);
    const bound = 1 / Math.sqrt(model.params.entry(name).shape[1]);
    const stream = rng.fork(name);
    for (let i = 0; i < a.length; i++) a[i] = (2 * stream.random() - 1) * bound;
  }
}

/** The attached adapters' weights, by module path. */
export function loraWeights(model: CausalLM): LoraWeights {
  const weights: LoraWeights = new Map();
  for (const path of model.lora?.spec.modules.keys() ?? []) {
    const tensor = (name: string) => ({
      shape: [...model.params.entry(name).shape],
      data: model.params.view(name),
    });
    weights.set(path, { a: tensor(`${path}.lora_A.weight`), b: tensor(`${path}.lora_B.weight`) });
  }
  return weights;
}

/** Saves the attached adapters in PEFT's layout (`adapter_config.json` + `adapter_model.safetensors`). */
export async function saveLora(
  model: CausalLM,
  dir: string,
  options: { dtype?: SaveDtype } = {},
): Promise<void> {
  if (!model.lora) throw new Error('no LoRA adapters attached');
  await writeLoraAdapter(dir, model.lora.config, loraWeights(model), options);
}

/** Loads a PEFT LoRA adapter folder onto the model (base frozen, adapters trainable). */
export async function loadLora(model: CausalLM, dir: string): Promise<void> {
  const { config, weights } = await readLoraAdapter(dir);
  const file = `${dir}/adapter_model.safetensors`;
  const spec = graphSpec(model, config);
  for (const path of weights.keys()) {
    if (!spec.modules.has(path)) {
      throw new InputError(
        'the adapter has weights for a module its target_modules do not select, or the model lacks',
        {
          file,
          field: `base_model.model.${path}.lora_A.weight`,
        },
      );
    }
  }
  await install(model, config);
  for (const path of spec.modules.keys()) {
    const pair = weights.get(path);
    if (!pair)
      throw new InputError('missing adapter weights for a targeted module', {
        file,
        field: `base_model.model.${path}.lora_A.weight`,
      });
    for (const [half, tensor] of [
      ['A', pair.a],
      ['B', pair.b],
    ] as const) {
      const name = `${path}.lora_${half}.weight`;
      const expected = model.params.entry(name).shape;
      if (tensor.shape.join() !== expected.join()) {
        await detachLora(model);
        throw new InputError(
          `shape ${JSON.stringify(tensor.shape)} does not match the model's ${JSON.stringify(expected)}`,
          {
            file,
            field: `base_model.model.${name}`,
          },
        );
      }
      model.params.view(name).set(tensor.data);
    }
  }
}

/** Removes the adapters without changing the base weights (all parameters trainable again). */
export async function detachLora(model: CausalLM): Promise<void> {
  if (!model.lora) return;
  const params = new ParamSet(decoderParamSpecs(model.config));
  params.copyFrom(model.params);
  model.params = params;
  model.lora = undefined;
  await model.resetGraphs();
}

/**
 * The model's weights with its adapters folded in (`W + scale · B·A`), as a new set in the
 * base layout (all trainable). Base weights the model holds only in its source (released under
 * LoRA) are read straight into the new set, so the model's own arena never takes the base back.
 */
export function mergedParams(model: CausalLM): ParamSet {
  if (!model.lora) throw new Error('no LoRA adapters attached');
  const specs = decoderParamSpecs(model.config).map((s) => ({ ...s, trainable: false }));
  const merged = new ParamSet(specs);
  merged.copyFrom(model.params); // frozen here, so a still-released base is adopted, not read
  const modules = model.lora.spec.modules;
  for (const [path, { rank, scale }] of modules) {
    const [out, inF] = merged.entry(`${path}.weight`).shape;
    addLowRank(
      merged.view(`${path}.weight`),
      model.params.view(`${path}.lora_B.weight`),
      model.params.view(`${path}.lora_A.weight`),
      out,
      inF,
      rank,
      scale,
    );
  }
  merged.markWeightsChanged((e) => modules.has(e.name.slice(0, -'.weight'.length)));
  merged.setTrainable(() => true, true);
  return merged;
}

/** Folds the adapters into the base weights (`W += scale · B·A`) and removes them. */
export async function mergeLora(model: CausalLM): Promise<void> {
  model.params = mergedParams(model);
  model.lora = undefined;
  await model.resetGraphs();
}
