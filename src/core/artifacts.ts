import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeJsonAtomic } from './atomic.ts';
import { claim, ClaimHeldError, DEFAULT_STALE_MS, type Claim } from './claim.ts';
import { hashFile, hashValue } from './hash.ts';
import { finemedHome } from './home.ts';
import { sweepStore, type SweepReport } from './sweep.ts';
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
const RENAME_CONFLICTS = new Set(['ENOTEMPTY', 'EEXIST', 'EPERM', 'EACCES', 'EBUSY']);
const PUBLISH_ATTEMPTS = 6;

/**
 * A content-addressed store of finished work: `ROOT/artifacts/KIND/KEY/` holds the files and
 * `meta.json`. A folder only appears under its key once it is complete (built in
 * `ROOT/tmp/` and renamed), so a crash never leaves a partial artifact where a reader looks.
 */
export class ArtifactStore {
  /** How long a folder's owner may go without refreshing its lock before it is presumed gone. */
  readonly staleMs: number;

  /** `root` defaults to `$FINEMED_HOME` or `~/.finemed`. */
  constructor(
    readonly root: string = finemedHome(),
    options: { staleMs?: number } = {},
  ) {
    this.staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  }

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
   * `build` writes files into a private temporary folder, owned by this process while it builds
   * (so a sweep from another process leaves it alone), and may return a summary. If another
   * process publishes the same artifact first, its copy wins, ours is discarded and the result
   * says `reused`.
   */
  async getOrCreate(
    recipe: ArtifactRecipe,
    build: (dir: string) => Promise<unknown>,
  ): Promise<Artifact & { reused: boolean }> {
    const existing = await this.find(recipe);
    if (existing) return { ...existing, reused: true };
    const full = complete(recipe);
    const key = this.key(full);
    await mkdir(join(this.root, 'tmp'), { recursive: true });
    const tmpDir = join(this.root, 'tmp', `${full.kind}-${key}-${randomBytes(6).toString('hex')}`);
    const owner = await claim(tmpDir, this.staleMs);
    let won: boolean;
    try {
      await mkdir(tmpDir);
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
      if (owner.lost) throw owner.lost;
      await mkdir(join(this.root, 'artifacts', full.kind), { recursive: true });
      won = await this.publish(tmpDir, full.kind, key);
    } catch (error) {
      if (!owner.lost) await rm(tmpDir, { recursive: true, force: true });
      throw owner.lost ? lostError(tmpDir, this.staleMs, error) : error;
    } finally {
      await owner.release();
    }
    const done = await this.get(full.kind, key);
    if (!done) throw new Error(`artifact ${full.kind}/${key} vanished after it was written`);
    return { ...done, reused: !won };
  }

  /**
   * Renames a complete temporary folder to its key. Returns false when another process got
   * there first with a complete artifact (then ours is dropped): Linux says ENOTEMPTY or EEXIST,
   * Windows EPERM; Windows also fails transiently (EPERM, EACCES, EBUSY) while a scanner holds a
   * file open, hence the few retries.
   */
  private async publish(tmpDir: string, kind: string, key: string): Promise<boolean> {
    const finalDir = this.dir(kind, key);
    for (let attempt = 1; ; attempt++) {
      try {
        await rename(tmpDir, finalDir);
        return true;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (!RENAME_CONFLICTS.has(code)) throw error;
        if (await this.get(kind, key)) {
          await rm(tmpDir, { recursive: true, force: true });
          return false;
        }
        if (attempt === PUBLISH_ATTEMPTS) {
          const occupied = await stat(finalDir).then(
            () =>
              `${finalDir} exists but is not a finished artifact (no readable ${META}); remove it`,
            () =>
              `${finalDir} is free, so the rename kept failing: is a file in ${tmpDir} held open?`,
          );
          throw new Error(
            `cannot publish ${tmpDir} (${code} after ${attempt} tries): ${occupied}`,
            {
              cause: error,
            },
          );
        }
        await sleep(25 * 2 ** attempt);
      }
    }
  }

  /** A job's work folder (checkpoints kept between runs), `ROOT/work/KIND-KEY`. */
  workDir(kind: string, key: string): string {
    this.dir(kind, key); // validates both, as they become a path
    return join(this.root, 'work', `${kind}-${key}`);
  }

  /**
   * Claims a job's work folder for this process and creates it, so that a sweep keeps it while
   * the job runs. Release the claim when the job ends; the folder itself stays until removed
   * (a cancelled job's checkpoints let a re-run resume). Throws naming the folder when a job in
   * another process holds it.
   */
  async claimWork(kind: string, key: string): Promise<Claim> {
    const dir = this.workDir(kind, key);
    await mkdir(dirname(dir), { recursive: true });
    let owner: Claim;
    try {
      // A sweep holds an unowned work folder briefly while it decides; outwait it.
      owner = await claim(dir, this.staleMs, 5);
    } catch (error) {
      if (!(error instanceof ClaimHeldError)) throw error;
      throw new Error(
        `job ${kind}/${key} is already running in another process: its work folder ${error.message}`,
      );
    }
    await mkdir(dir, { recursive: true });
    return owner;
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

  /**
   * Deletes temporary folders whose owner process is gone (and stale locks), and work folders
   * that hold nothing. A live owner's folders are kept, and so are the checkpoints of
   * interrupted jobs (a re-run resumes from them) unless `resumable` is set.
   */
  sweep(options: { resumable?: boolean } = {}): Promise<SweepReport> {
    return sweepStore(this.root, this.staleMs, options.resumable ?? false);
  }
}

function lostError(tmpDir: string, staleMs: number, cause: unknown): Error {
  return new Error(
    `${tmpDir} was taken over by another process (its lock went ${staleMs / 1000} s without a ` +
      `refresh: was this process suspended or its event loop blocked?); run the job again`,
    { cause },
  );
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
