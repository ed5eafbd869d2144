import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/atomic.ts';
import { InputError } from '../core/errors.ts';
import type { WeightsSource } from '../engine/index.ts';
import { readJsonObject } from './json-file.ts';
import {
  SafetensorsFile,
  type NamedTensor,
  type SaveDtype,
  type TensorEntry,
  writeSafetensors,
} from './safetensors.ts';

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

/**
 * The weights of a Hugging Face model folder: `model.safetensors`, or the shards listed by
 * `model.safetensors.index.json`. Tensors are read on demand.
 */
export class WeightsFolder {
  /** Use {@link WeightsFolder.open}. */
  constructor(
    /** The folder. */
    readonly dir: string,
    private readonly files: SafetensorsFile[],
    private readonly byName: Map<string, SafetensorsFile>,
  ) {}

  /** Opens the weights of `dir`; errors name the file (and tensor) at fault. */
  static async open(dir: string): Promise<WeightsFolder> {
    const indexPath = join(dir, INDEX);
    if (existsSync(indexPath)) return openSharded(dir, indexPath);
    const single = join(dir, SINGLE);
    if (!existsSync(single)) {
      throw new InputError(`no ${SINGLE} or ${INDEX} in the model folder`, { file: dir });
    }
    const file = await SafetensorsFile.open(single);
    return new WeightsFolder(dir, [file], new Map([...file.tensors.keys()].map((n) => [n, file])));
  }

  /** Every tensor name. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Where a tensor lies, or undefined when the folder lacks it. */
  entry(name: string): (TensorEntry & { file: string }) | undefined {
    const file = this.byName.get(name);
    const entry = file?.tensors.get(name);
    return file && entry ? { ...entry, file: file.path } : undefined;
  }

  /** Reads a tensor as float32, checking its shape when `shape` is given. */
  async read(name: string, shape?: readonly number[]): Promise<NamedTensor> {
    const file = this.fileOf(name, shape);
    return file.read(name);
  }

  /** Reads a tensor of the given shape straight into `dest` (e.g. a parameter arena's view), widened to float32. */
  async readInto(name: string, shape: readonly number[], dest: Float32Array): Promise<void> {
    await this.fileOf(name, shape).readInto(name, dest);
  }

  /**
   * Reads many tensors into their destinations, checking every shape before any data is read
   * (each file reads its next stage while the current one is widened, see `readInto`).
   */
  async readAllInto(
    items: Iterable<{ name: string; shape: readonly number[]; dest: Float32Array }>,
  ): Promise<void> {
    const list = [...items];
    const files = list.map((item) => this.fileOf(item.name, item.shape));
    for (const [i, item] of list.entries()) await files[i].readInto(item.name, item.dest);
  }

  /** The file holding `name`, after checking the tensor's shape against `shape` (before any data is read). */
  private fileOf(name: string, shape?: readonly number[]): SafetensorsFile {
    const file = this.byName.get(name);
    const actual = file?.tensors.get(name)?.shape;
    if (!file || !actual) throw new InputError('missing tensor', { file: this.dir, field: name });
    if (shape && (shape.length !== actual.length || shape.some((d, i) => d !== actual[i]))) {
      throw new InputError(
        `shape ${JSON.stringify(actual)} does not match the config's ${JSON.stringify(shape)}`,
        { file: file.path, field: name },
      );
    }
    return file;
  }

  /**
   * The folder as a source parameters can be re-read from after they were released: synchronous
   * reads that work after {@link close}, refusing a file changed since it was opened.
   */
  source(): WeightsSource {
    return {
      label: this.dir,
      readSync: (name, dest) => this.fileOf(name).readSyncInto(name, dest),
    };
  }

  /** Closes every file. */
  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

async function openSharded(dir: string, indexPath: string): Promise<WeightsFolder> {
  const index = (await readJsonObject(indexPath)) as { weight_map?: Record<string, string> };
  const map = index?.weight_map;
  if (!map || typeof map !== 'object') {
    throw new InputError('missing weight_map', { file: indexPath, field: 'weight_map' });
  }
  const shards = new Map<string, SafetensorsFile>();
  const byName = new Map<string, SafetensorsFile>();
  try {
    for (const [name, shard] of Object.entries(map)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) {
        throw new InputError(`bad shard file name ${JSON.stringify(shard)}`, {
          file: indexPath,
          field: `weight_map.${name}`,
        });
      }
      let file = shards.get(shard);
      if (!file) {
        file = await SafetensorsFile.open(join(dir, shard));
        shards.set(shard, file);
      }
      if (!file.tensors.has(name)) {
        throw new InputError(`the index places this tensor in ${shard}, which lacks it`, {
          file: join(dir, shard),
          field: name,
        });
      }
      byName.set(name, file);
    }
  } catch (error) {
    await Promise.all([...shards.values()].map((f) => f.close()));
    throw error;
  }
  return new WeightsFolder(dir, [...shards.values()], byName);
}

/** Options for {@link writeWeightsFolder}. */
export interface WriteWeightsOptions {
  /** Element type on disk (default F32). */
  dtype?: SaveDtype;
  /** Split into shards of at most this many bytes (default 2 GiB), as Hugging Face does for large models. */
  maxShardBytes?: number;
}

/**
 * Writes tensors as `model.safetensors` (or numbered shards plus an index when they exceed
 * `maxShardBytes`), each file atomically, and removes weight files of the other layout.
 */
export async function writeWeightsFolder(
  dir: string,
  tensors: Iterable<[string, NamedTensor]>,
  options: WriteWeightsOptions = {},
): Promise<string[]> {
  const dtype = options.dtype ?? 'F32';
  const itemBytes = dtype === 'F32' ? 4 : 2;
  const limit = options.maxShardBytes ?? 2 ** 31;
  const shards: [string, NamedTensor][][] = [[]];
  let used = 0;
  let total = 0;
  for (const item of tensors) {
    const bytes = item[1].data.length * itemBytes;
    if (used > 0 && used + bytes > limit) {
      shards.push([]);
      used = 0;
    }
    shards[shards.length - 1].push(item);
    used += bytes;
    total += bytes;
  }
  if (shards.length === 1) {
    await writeSafetensors(join(dir, SINGLE), shards[0], { dtype });
    await rm(join(dir, INDEX), { force: true });
    return [SINGLE];
  }
  const names = shards.map(
    (_, i) =>
      `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`,
  );
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < shards.length; i++) {
    await writeSafetensors(join(dir, names[i]), shards[i], { dtype });
    for (const [name] of shards[i]) weightMap[name] = names[i];
  }
  await writeJsonAtomic(join(dir, INDEX), {
    metadata: { total_size: total },
    weight_map: weightMap,
  });
  await rm(join(dir, SINGLE), { force: true });
  return [...names, INDEX];
}
