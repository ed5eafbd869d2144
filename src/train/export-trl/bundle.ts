import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { tempPathFor, writeFileAtomic, writeJsonAtomic } from '../../core/atomic.ts';
import { InputError, UsageError } from '../../core/errors.ts';
import { hashFile, sha256 } from '../../core/hash.ts';
import { codeVersion } from '../../core/version.ts';
import { readModelConfig, type ModelConfig } from '../../model/config.ts';
import type { ReadOptions } from '../examples.ts';
import type { DpoLossType } from '../dpo-loss.ts';
import {
  DPO_PRESETS,
  SFT_PRESETS,
  type DpoHyper,
  type LoopHyper,
  type TrainPreset,
} from '../presets.ts';
import { resolveHyper, type StageLora } from '../stage.ts';
import { bundleReadme } from './readme.ts';
import { readTrlRows, trlJsonl, trlParquet } from './rows.ts';
import {
  accelerateConfigs,
  dsConfig,
  launchSh,
  PINNED,
  requirementsTxt,
  trainPy,
} from './templates.ts';
import {
  EXPORT_STAGES,
  loraConfig,
  trainerConfig,
  type ExportStage,
  type ResolvedStage,
} from './trainer-config.ts';

/** What to export: the stage, its inputs, and the same settings `finemed train` takes. */
export interface TrlExportOptions extends Partial<DpoHyper>, ReadOptions {
  /** `sft` or `dpo`. */
  stage: ExportStage;
  /** A model folder (config.json) or a Hugging Face Hub id such as `Qwen/Qwen2.5-0.5B-Instruct`. */
  model: string;
  /** Training rows, JSONL in the stage's TRL format. */
  data: string;
  /** The bundle folder to create (must not exist yet). */
  outDir: string;
  /** Hyper-parameter preset (default: the one the model's shape matches; `paper` for Hub ids). */
  preset?: TrainPreset;
  /** Seed (default 0). */
  seed?: number;
  /** Stop after this many optimizer steps. */
  maxSteps?: number;
  /** `adamw` (default) or `sgd`. */
  optimizer?: 'adamw' | 'sgd';
  /** Train LoRA adapters instead of every weight. */
  lora?: StageLora;
  /** SFT: pack rows into rows of the maximum length. */
  packing?: boolean;
  /** SFT: loss on prompt tokens too. */
  trainOnPrompt?: boolean;
  /** DPO loss variant. */
  loss?: DpoLossType;
  /** DPO: label smoothing. */
  labelSmoothing?: number;
  /** DPO: reference model folder or Hub id (default: the starting model). */
  refModel?: string;
}

/** The bundle's `manifest.json`. */
export interface TrlManifest {
  /** Bundle format, so importers can tell versions apart. */
  format: 'finemed-trl-bundle/1';
  /** Which trainer. */
  stage: ExportStage;
  /** SHA-256 over every other file of the bundle (see {@link bundleContentHash}). */
  content_hash: string;
  /** The inputs: artifact keys when they come from the store, else content hashes. */
  sources: { model: SourceRef; data: SourceRef; ref_model?: SourceRef };
  /** The resolved hyper-parameters (`finemed train`'s names) and the settings beside them. */
  hyperparameters: ResolvedStage['hyper'] & Omit<ResolvedStage, 'hyper' | 'stage'>;
  /** What `train.py` passes to `SFTConfig`/`DPOConfig` and `LoraConfig`. */
  trainer_config: Record<string, unknown>;
  /** PEFT `LoraConfig` arguments, or null. */
  lora_config: Record<string, unknown> | null;
  /** Training rows written, and malformed rows skipped. */
  rows: number;
  /** Malformed rows skipped (with `skipBadRows`). */
  skipped_rows: number;
  /** The library versions `requirements.txt` pins. */
  pinned: typeof PINNED;
  /** The workbench code that wrote the bundle. */
  workbench_version: string;
}

/** Where an input came from. */
export interface SourceRef {
  /** The path or Hub id as given. */
  path: string;
  /** `kind/key` of the artifact holding it, when it lies in the artifact store. */
  artifact?: string;
  /** SHA-256 of the data file, or of a model folder's config.json. */
  sha256?: string;
  /** The Hub id, when the model is not a local folder. */
  hub_id?: string;
}

const MANIFEST = 'manifest.json';
const HUB_ID = /^[\w.-]+\/[\w.-]+$/;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'))
    .sort();
}

/** The bundle's content hash: SHA-256 over each file's path and SHA-256, manifest excluded. */
export async function bundleContentHash(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const name of await filesUnder(dir))
    if (name !== MANIFEST) lines.push(`${name}\t${await hashFile(join(dir, name))}`);
  return sha256(lines.join('\n'));
}

async function artifactOf(path: string): Promise<string | undefined> {
  for (let dir = resolve(path); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      if (typeof meta.kind === 'string' && typeof meta.key === 'string')
        return `${meta.kind}/${meta.key}`;
    } catch {
      // Not an artifact folder: look further up.
    }
  }
  return undefined;
}

/** A model folder's config (validated) and source, or a Hub id's. */
async function modelSource(
  model: string,
  flag: string,
): Promise<{ config?: ModelConfig; ref: SourceRef }> {
  if (existsSync(model)) {
    const file = join(model, 'config.json');
    const { config } = await readModelConfig(file);
    return {
      config,
      ref: { path: model, artifact: await artifactOf(model), sha256: await hashFile(file) },
    };
  }
  if (HUB_ID.test(model)) return { ref: { path: model, hub_id: model } };
  throw new InputError('no such model folder, and not a Hub id (owner/name)', {
    field: flag,
    file: model,
  });
}

/**
 * Writes a self-contained TRL bundle for a stage into `outDir`: the data (JSONL and Parquet),
 * `train.py`, `requirements.txt`, accelerate and DeepSpeed configs, `launch.sh`, a README and
 * `manifest.json`. It is built in a temporary folder beside `outDir` and renamed into place, so
 * `outDir` either does not exist or holds the whole bundle.
 */
export async function exportTrl(o: TrlExportOptions): Promise<TrlManifest> {
  if (!(EXPORT_STAGES as readonly string[]).includes(o.stage))
    throw new UsageError(`unknown stage '${o.stage}': expected ${EXPORT_STAGES.join(' or ')}`);
  if (existsSync(o.outDir))
    throw new InputError('already exists; a bundle is written to a new folder', {
      file: o.outDir,
    });
  if (!existsSync(o.data) || !(await stat(o.data)).isFile())
    throw new InputError('no such data file', { file: o.data, field: 'data' });
  const model = await modelSource(o.model, 'model');
  const refModel = o.refModel ? await modelSource(o.refModel, 'ref-model') : undefined;
  // A Hub model's shape and context are unknown here: no built-in preset matches it
  // (so it defaults to paper) and the preset's maximum length is not capped.
  const config = model.config ?? ({ maxPositions: Number.MAX_SAFE_INTEGER } as ModelConfig);
  const hyper = resolveHyper<LoopHyper & { beta?: number }>(
    { config },
    o,
    o.stage === 'sft' ? SFT_PRESETS : DPO_PRESETS,
  );
  if (o.stage === 'dpo' && !((hyper.beta ?? 0) > 0))
    throw new UsageError(`beta must be positive, got ${hyper.beta}`);
  const rows = await readTrlRows(o.stage, o.data, o);
  const settings = {
    seed: o.seed ?? 0,
    maxSteps: o.maxSteps,
    optimizer: o.optimizer,
    packing: o.packing,
    trainOnPrompt: o.trainOnPrompt,
    conversational: rows.conversational,
    loss: o.loss,
    labelSmoothing: o.labelSmoothing,
    lora: o.lora,
  };
  const trainer = trainerConfig({ stage: o.stage, hyper, ...settings });
  const lora = loraConfig(o.lora);

  const tmp = tempPathFor(resolve(o.outDir));
  await mkdir(tmp, { recursive: true });
  try {
    const write = (name: string, data: string | Uint8Array) =>
      writeFileAtomic(join(tmp, name), data);
    await write('data/train.jsonl', trlJsonl(rows));
    await write('data/train.parquet', trlParquet(rows));
    await write(
      'train.py',
      trainPy({ stage: o.stage, model: o.model, refModel: o.refModel, config: trainer, lora }),
    );
    await write('requirements.txt', requirementsTxt());
    for (const [name, yaml] of Object.entries(accelerateConfigs()))
      await write(`accelerate/${name}.yaml`, yaml);
    await writeJsonAtomic(join(tmp, 'accelerate/ds_config.json'), dsConfig());
    await write('launch.sh', launchSh());
    await chmod(join(tmp, 'launch.sh'), 0o755);
    await write(
      'README.md',
      bundleReadme({
        stage: o.stage,
        model: o.model,
        rows: rows.records.length,
        lora: lora !== null,
        assistantOnly: trainer.assistant_only_loss === true,
      }),
    );
    const dataRef: SourceRef = {
      path: o.data,
      artifact: await artifactOf(o.data),
      sha256: await hashFile(o.data),
    };
    const manifest: TrlManifest = {
      format: 'finemed-trl-bundle/1',
      stage: o.stage,
      content_hash: await bundleContentHash(tmp),
      sources: { model: model.ref, data: dataRef, ref_model: refModel?.ref },
      hyperparameters: { ...hyper, ...settings },
      trainer_config: trainer,
      lora_config: lora,
      rows: rows.records.length,
      skipped_rows: rows.skipped.length,
      pinned: PINNED,
      workbench_version: codeVersion(),
    };
    await writeJsonAtomic(join(tmp, MANIFEST), manifest);
    await mkdir(dirname(resolve(o.outDir)), { recursive: true });
    await rename(tmp, o.outDir);
    return manifest;
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}
