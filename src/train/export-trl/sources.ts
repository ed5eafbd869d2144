import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../../core/errors.ts';
import { hashFile } from '../../core/hash.ts';
import { readModelConfig, type ModelConfig } from '../../model/config.ts';

const HUB_ID = /^[\w.-]+\/[\w.-]+$/;

/** `kind/key` of the artifact a path lies in (its folder or a file of it), if any. */
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

/**
 * The key an input is known by: `kind/key` when it lies in the artifact store, else
 * `sha256:<hex>` of the file (of a model folder's config.json), or `hub:<id>`.
 */
export async function sourceKey(path: string, hashed: string): Promise<string> {
  return (await artifactOf(path)) ?? `sha256:${await hashFile(hashed)}`;
}

/** A model folder's config (validated) and key, or a Hub id's key. */
export async function modelSource(
  model: string,
  flag: string,
): Promise<{ config?: ModelConfig; key: string }> {
  if (existsSync(model)) {
    const file = join(model, 'config.json');
    const { config } = await readModelConfig(file);
    return { config, key: await sourceKey(model, file) };
  }
  if (HUB_ID.test(model)) return { key: `hub:${model}` };
  throw new InputError('no such model folder, and not a Hub id (owner/name)', {
    field: flag,
    file: model,
  });
}
