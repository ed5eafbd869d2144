import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { tempPathFor, writeFileAtomic, writeJsonAtomic } from '../../core/atomic.ts';
import { InputError, UsageError } from '../../core/errors.ts';
import { hashFile, sha256 } from '../../core/hash.ts';
import { codeVersion } from '../../core/version.ts';
import type { ModelConfig } from '../../model/config.ts';
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
import { modelSource, sourceKey } from './sources.ts';
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
  hash: string;
  /**
   * The inputs' keys by role (`model`, `data`, `ref_model`): `kind/key` of an artifact,
   * `sha256:<hex>` of a file (a model folder's config.json), or `hub:<id>`.
   */
  sources: Record<string, string>;
  /** The inputs as given (paths or Hub ids), by role. */
  source_paths: Record<string, string>;
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

const MANIFEST = 'manifest.json';
// The manifest holds the hash; meta.json is the artifact store's, written around a bundle job's files.
const OUTSIDE_HASH = new Set([MANIFEST, 'meta.json']);

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'))
    .sort();
}

/** The bundle's content hash: SHA-256 over each file's path and SHA-256 (not the manifest's). */
export async function bundleContentHash(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const name of await filesUnder(dir))
    if (!OUTSIDE_HASH.has(name)) lines.push(`${name}\t${await hashFile(join(dir, name))}`);
  return sha256(lines.join('\n'));
}

/**
 * Writes a self-contained TRL bundle for a stage into the empty folder `dir`: the data (JSONL
 * and Parquet), `train.py`, `requirements.txt`, accelerate and DeepSpeed configs, `launch.sh`,
 * a README, and last `manifest.json`. `outDir` is not read: see {@link exportTrl}.
 */
export async function writeTrlBundle(
  o: Omit<TrlExportOptions, 'outDir'>,
  dir: string,
): Promise<TrlManifest> {
  if (!(EXPORT_STAGES as readonly string[]).includes(o.stage))
    throw new UsageError(`unknown stage '${o.stage}': expected ${EXPORT_STAGES.join(' or ')}`);
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

  const write = (name: string, data: string | Uint8Array) => writeFileAtomic(join(dir, name), data);
  await write('data/train.jsonl', trlJsonl(rows));
  await write('data/train.parquet', trlParquet(rows));
  await write(
    'train.py',
    trainPy({ stage: o.stage, model: o.model, refModel: o.refModel, config: trainer, lora }),
  );
  await write('requirements.txt', requirementsTxt());
  for (const [name, yaml] of Object.entries(accelerateConfigs()))
    await write(`accelerate/${name}.yaml`, yaml);
  await writeJsonAtomic(join(dir, 'accelerate/ds_config.json'), dsConfig());
  await write('launch.sh', launchSh());
  await chmod(join(dir, 'launch.sh'), 0o755);
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
  const manifest: TrlManifest = {
    format: 'finemed-trl-bundle/1',
    stage: o.stage,
    hash: await bundleContentHash(dir),
    sources: {
      model: model.key,
      data: await sourceKey(o.data, o.data),
      ...(refModel ? { ref_model: refModel.key } : {}),
    },
    source_paths: {
      model: o.model,
      data: o.data,
      ...(o.refModel ? { ref_model: o.refModel } : {}),
    },
    hyperparameters: { ...hyper, ...settings },
    trainer_config: trainer,
    lora_config: lora,
    rows: rows.records.length,
    skipped_rows: rows.skipped.length,
    pinned: PINNED,
    workbench_version: codeVersion(),
  };
  await writeJsonAtomic(join(dir, MANIFEST), manifest);
  return manifest;
}

/**
 * Writes a TRL bundle (see {@link writeTrlBundle}) into `outDir`, which must not exist: it is
 * built in a temporary folder beside it and renamed into place, so `outDir` either does not
 * exist or holds the whole bundle.
 */
export async function exportTrl(o: TrlExportOptions): Promise<TrlManifest> {
  if (existsSync(o.outDir))
    throw new InputError('already exists; a bundle is written to a new folder', {
      file: o.outDir,
    });
  const tmp = tempPathFor(resolve(o.outDir));
  await mkdir(tmp, { recursive: true });
  try {
    const manifest = await writeTrlBundle(o, tmp);
    await rename(tmp, o.outDir);
    return manifest;
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}
