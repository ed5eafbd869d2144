import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.ts';
import { hashFile, hashValue } from './hash.ts';
import { finemedHome } from './home.ts';
import { codeVersion } from './version.ts';

/** Everything that determines an artifact's content, and therefore its key. */
export interface ArtifactRecipe {
  /** The kind of artifact: `dataset`, `checkpoint`, `eval`, `index`, ... */
  kind: string;
  /** Content hashes of the inputs (files, upstream artifacts), by role, e.g. `{ model: '<key>' }`. */
  inputs: Record<string, string>;
  /** The job's configuration (any JSON value). */
  config: unknown;
  /** The seed the job draws its randomness from. */
  seed: number;
  /** The code that made it; defaults to {@link codeVersion}. */
  codeVersion?: string;
}

/** One file inside an artifact, as listed in its metadata. */
export interface ArtifactFile {
  /** Path relative to the artifact folder. */
  name: string;
  /** Size in bytes. */
  bytes: number;
  /** Hex SHA-256 of the file's content. */
  sha256: string;
}

/** The `meta.json` written beside an artifact's files. */
export interface ArtifactMeta {
  /** The artifact's kind. */
  kind: string;
  /** The artifact's key (hash of its recipe). */
  key: string;
  /** The full recipe, so a report can show where the artifact came from. */
  recipe: Required<ArtifactRecipe>;
  /** ISO time of creation (informational; not part of the key). */
  createdAt: string;
  /** Every file in the artifact with its hash. */
  files: ArtifactFile[];
  /** A small job-specific summary (counts, final loss, accuracy...). */
  summary?: unknown;
}

/** A finished artifact on disk. */
export interface Artifact {
  /** Its folder. */
  dir: string;
  /** Its metadata. */
  meta: ArtifactMeta;
}

const META = 'meta.json';

/**
 * A content-addressed store of finished work: `ROOT/artifacts/KIND/KEY/` holds the files and
 * `meta.json`. A folder only appears under its key once it is complete (built in
 * `ROOT/tmp/` and renamed), so a crash never leaves a partial artifact where a reader looks.
 */
export class ArtifactStore {
  /** `root` defaults to `$FINEMED_HOME` or `~/.finemed`. */
  constructor(readonly root: string = finemedHome()) {}

  /** The key of a recipe: a hash of inputs, config, seed and code version. */
  key(recipe: ArtifactRecipe): string {
    return hashValue(complete(recipe)).slice(0, 32);
  }

  /** The folder an artifact of this kind and key lives in (whether or not it exists yet). */
  dir(kind: string, key: string): string {
    if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`bad artifact kind '${kind}'`);
    if (!/^[0-9a-f]{8,64}$/.test(key)) throw new Error(`bad artifact key '${key}'`);
    return join(this.root, 'artifacts', kind, key);
  }

  /** The finished artifact for `recipe`, if one exists. */
  async find(recipe: ArtifactRecipe): Promise<Artifact | undefined> {
    return this.get(recipe.kind, this.key(recipe));
  }

  /** The finished artifact with this kind and key, if one exists. */
  async get(kind: string, key: string): Promise<Artifact | undefined> {
    const dir = this.dir(kind, key);
    try {
      const meta = JSON.parse(await readFile(join(dir, META), 'utf8')) as ArtifactMeta;
      return { dir, meta };
    } catch {
      return undefined;
    }
  }

  /**
   * Returns the artifact for `recipe`, building it with `build(dir)` if it does not exist.
   * `build` writes files into a private temporary folder and may return a summary.
   * If another process finishes the same artifact first, its copy wins and ours is discarded.
   */
  async getOrCreate(
    recipe: ArtifactRecipe,
    build: (dir: string) => Promise<unknown>,
  ): Promise<Artifact & { reused: boolean }> {
    const existing = await this.find(recipe);
    if (existing) return { ...existing, reused: true };
    const full = complete(recipe);
    const key = this.key(full);
    const finalDir = this.dir(full.kind, key);
    const tmpDir = join(this.root, 'tmp', `${full.kind}-${key}-${randomBytes(6).toString('hex')}`);
    await mkdir(tmpDir, { recursive: true });
    try {
      const summary = await build(tmpDir);
      const meta: ArtifactMeta = {
        kind: full.kind,
        key,
        recipe: full,
        createdAt: new Date().toISOString(),
        files: await listFiles(tmpDir),
        ...(summary === undefined ? {} : { summary }),
      };
      await writeJsonAtomic(join(tmpDir, META), meta);
      await mkdir(join(this.root, 'artifacts', full.kind), { recursive: true });
      if (existsSync(finalDir)) {
        await rm(tmpDir, { recursive: true, force: true });
      } else {
        await rename(tmpDir, finalDir);
      }
    } catch (error) {
      await rm(tmpDir, { recursive: true, force: true });
      throw error;
    }
    const done = await this.get(full.kind, key);
    if (!done) throw new Error(`artifact ${full.kind}/${key} vanished after it was written`);
    return { ...done, reused: false };
  }

  /** All finished artifacts, optionally of one kind, newest first. */
  async list(kind?: string): Promise<Artifact[]> {
    const base = join(this.root, 'artifacts');
    const kinds = kind ? [kind] : await readdir(base).catch(() => [] as string[]);
    const found: Artifact[] = [];
    for (const k of kinds) {
      for (const key of await readdir(join(base, k)).catch(() => [] as string[])) {
        const artifact = await this.get(k, key);
        if (artifact) found.push(artifact);
      }
    }
    return found.sort((a, b) => b.meta.createdAt.localeCompare(a.meta.createdAt));
  }

  /** Deletes temporary folders left by crashed writers. */
  async sweep(): Promise<number> {
    const tmp = join(this.root, 'tmp');
    const entries = await readdir(tmp).catch(() => [] as string[]);
    for (const entry of entries) await rm(join(tmp, entry), { recursive: true, force: true });
    return entries.length;
  }
}

function complete(recipe: ArtifactRecipe): Required<ArtifactRecipe> {
  return { ...recipe, codeVersion: recipe.codeVersion ?? codeVersion() };
}

async function listFiles(dir: string, prefix = ''): Promise<ArtifactFile[]> {
  const files: ArtifactFile[] = [];
  for (const entry of (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, name)));
    else if (name !== META) {
      const path = join(dir, name);
      files.push({ name, bytes: (await stat(path)).size, sha256: await hashFile(path) });
    }
  }
  return files;
}
