import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import { defineJob, type RecipeContext } from '../job.ts';
import { artifactRefSchema, type InputFile } from '../protocol.ts';
import { MODEL_FILES } from './model.ts';

const worker = new URL('./import-worker.ts', import.meta.url).href;

/** The file an exported bundle's `train.py` leaves in its output folder: the bundle's `manifest.json`, copied. */
export const BUNDLE_FILE = 'finemed-bundle.json';

/** The files of a PEFT adapter folder that decide the merged model (its tokenizer, when saved, replaces the base's). */
export const ADAPTER_FILES =
  /^(adapter_config\.json|adapter_model\.safetensors|tokenizer\.json|tokenizer_config\.json|chat_template\.jinja)$/;

/** The export bundle a model was trained from, as its manifest states it. */
export interface BundleProvenance {
  /** The bundle's content hash. */
  hash: string;
  /** The source artifacts' keys by role (`model`, `data`). */
  sources: Record<string, string>;
  /** The workbench version that exported it, when stated. */
  workbenchVersion?: string;
  /** The manifest read. */
  file: string;
}

/** How an import turns its source into a model folder. */
export type ImportMode = 'checkpoint' | 'merged' | 'adapter';

export const importParams = z.object({
  /**
   * A checkpoint folder, or a PEFT adapter folder (with `base`); or a checkpoint artifact, so a
   * notebook can stand a model trained here in for one trained elsewhere.
   */
  from: z.union([z.string().min(1), artifactRefSchema]),
  /** The model an adapter was trained on: a folder or a checkpoint artifact. */
  base: z.union([z.string().min(1), artifactRefSchema]).optional(),
  /** Keep the adapter (PEFT layout, under `adapter/`) beside the merged weights. */
  keepAdapter: z.boolean().default(false),
  /** An export bundle folder or artifact (its `manifest.json`), when `from` lacks `finemed-bundle.json`. */
  bundle: z.union([z.string().min(1), artifactRefSchema]).optional(),
});

/**
 * Reads an export bundle's manifest: `DIR/manifest.json` for a bundle folder, or the file
 * itself. Errors name the file and field.
 */
export async function readBundle(path: string): Promise<BundleProvenance> {
  const file =
    existsSync(path) && statSync(path).isDirectory() ? join(path, 'manifest.json') : path;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read the export bundle's manifest: ${(error as Error).message}`, {
      file,
    });
  }
  const manifest = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const hash = manifest.hash;
  if (typeof hash !== 'string' || hash === '')
    throw new InputError('the bundle manifest has no content hash', { file, field: 'hash' });
  const sources = manifest.sources && typeof manifest.sources === 'object' ? manifest.sources : {};
  const version =
    manifest.workbenchVersion ?? manifest.workbench_version ?? manifest.codeVersion ?? undefined;
  return {
    hash,
    sources: Object.fromEntries(
      Object.entries(sources).filter((e): e is [string, string] => typeof e[1] === 'string'),
    ),
    ...(typeof version === 'string' ? { workbenchVersion: version } : {}),
    file,
  };
}

/** The bundle named by `bundle`, else the one `train.py` left in `fromDir`, else undefined. */
export async function findBundle(
  fromDir: string,
  bundle: string | undefined,
): Promise<BundleProvenance | undefined> {
  if (bundle !== undefined) return readBundle(bundle);
  const left = join(fromDir, BUNDLE_FILE);
  return existsSync(left) ? readBundle(left) : undefined;
}

/** What an import reads: its mode, the folders and their files; checks the combination. */
export async function importSources(
  p: z.infer<typeof importParams>,
  ctx: Pick<RecipeContext, 'resolvePath' | 'artifactDir'>,
) {
  const fromDir = typeof p.from === 'string' ? ctx.resolvePath(p.from) : ctx.artifactDir(p.from);
  const names = await listFolder(fromDir);
  const isAdapter = names.includes('adapter_config.json');
  if (isAdapter && p.base === undefined) {
    throw new InputError(
      'a PEFT adapter folder (adapter_config.json): give the model it was trained on as base (--base DIR)',
      { file: fromDir },
    );
  }
  if (!isAdapter && p.base !== undefined)
    throw new InputError('base is for PEFT adapters; this folder has no adapter_config.json', {
      file: fromDir,
    });
  if (!isAdapter && !names.includes('config.json'))
    throw new InputError('not a model folder: no config.json (nor adapter_config.json)', {
      file: fromDir,
    });
  if (p.keepAdapter && !isAdapter)
    throw new InputError('keepAdapter needs a PEFT adapter folder', { file: fromDir });
  const mode: ImportMode = !isAdapter ? 'checkpoint' : p.keepAdapter ? 'adapter' : 'merged';
  const fromFiles = names.filter((n) => (isAdapter ? ADAPTER_FILES : MODEL_FILES).test(n)).sort();
  let baseDir: string | undefined;
  let baseFiles: string[] = [];
  if (typeof p.base === 'string') {
    baseDir = ctx.resolvePath(p.base);
    baseFiles = (await listFolder(baseDir)).filter((n) => MODEL_FILES.test(n)).sort();
    if (!baseFiles.includes('config.json'))
      throw new InputError('the base is not a model folder: no config.json', { file: baseDir });
  } else if (p.base) {
    baseDir = ctx.artifactDir(p.base);
  }
  const bundlePath =
    p.bundle === undefined
      ? undefined
      : typeof p.bundle === 'string'
        ? ctx.resolvePath(p.bundle)
        : ctx.artifactDir(p.bundle);
  return { mode, fromDir, fromFiles, baseDir, baseFiles, bundlePath };
}

async function listFolder(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => {
    throw new InputError('not a folder', { file: dir });
  });
}

/**
 * `wb.import`: a model trained elsewhere (TRL, transformers, PEFT) taken into the store as a
 * checkpoint like one trained here, its provenance pointing at the export bundle that made it.
 */
export const importModelJob = defineJob({
  name: 'model.import',
  summary: 'import a checkpoint or PEFT adapter trained elsewhere, with its export bundle',
  weight: 'light',
  kind: 'checkpoint',
  params: importParams,
  recipe: async (p, ctx) => {
    const src = await importSources(p, ctx);
    const hashed = async (dir: string, names: string[]): Promise<InputFile[]> =>
      Promise.all(names.map((n) => ctx.inputFile(join(dir, n))));
    const from = await hashed(src.fromDir, src.fromFiles);
    const base = src.baseDir ? await hashed(src.baseDir, src.baseFiles) : [];
    const bundle = await findBundle(src.fromDir, src.bundlePath);
    const bundleFile = bundle ? [await ctx.inputFile(bundle.file)] : [];
    return {
      inputs: {
        ...Object.fromEntries(src.fromFiles.map((n, i) => [`from/${n}`, from[i].sha256])),
        ...Object.fromEntries(src.baseFiles.map((n, i) => [`base/${n}`, base[i].sha256])),
        ...(p.base && typeof p.base !== 'string' ? { base: p.base.key } : {}),
        ...(bundle
          ? {
              bundle: bundle.hash,
              // The manifest is copied into the artifact, so its bytes key it too.
              'bundle/manifest': bundleFile[0].sha256,
              ...Object.fromEntries(
                Object.entries(bundle.sources).map(([role, key]) => [`bundle.${role}`, key]),
              ),
            }
          : {}),
      },
      config: { mode: src.mode, provenance: bundle ? 'bundle' : 'unknown' },
      seed: 0,
      files: [...from, ...base, ...bundleFile],
    };
  },
  // Copying runs at disk speed (~200 MB/s); merging reads the base and writes float32 (~100 MB/s).
  estimate: (p, recipe) => {
    const mb = recipe.files.reduce((sum, f) => sum + f.bytes, 0) / 1e6;
    const merge = p.base !== undefined;
    return {
      seconds: 0.5 + mb / (merge ? 100 : 200),
      detail: merge ? `merge an adapter into ${mb.toFixed(0)} MB` : `copy ${mb.toFixed(0)} MB`,
    };
  },
  module: worker,
  exportName: 'importModel',
});
