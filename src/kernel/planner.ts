import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { z } from 'zod';
import type { ArtifactRecipe, ArtifactStore } from '../core/artifacts.ts';
import { InputError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import type { WorkspacePolicy } from '../core/workspace.ts';
import type { JobDefinition, JobRecipe, RecipeContext } from './job.ts';
import type {
  ArtifactRef,
  BinaryFileContent,
  FileContent,
  FileEncoding,
  InputFile,
  JobInfo,
} from './protocol.ts';

/** A job request validated and keyed: everything needed to look up or make its artifact. */
export interface PreparedJob {
  /** The job type. */
  def: JobDefinition;
  /** The validated parameters. */
  params: unknown;
  /** The artifact recipe (what keys it). */
  recipe: ArtifactRecipe;
  /** The job's own recipe (seed, files, facts). */
  job: JobRecipe;
  /** The artifact key. */
  key: string;
  /** The folder relative paths resolve against. */
  base: string;
}

/**
 * The kernel's cheap half: the job registry, parameter validation, recipes and artifact keys,
 * and file hashing (cached by size and modification time, so planning is fast on every re-run).
 */
export class JobPlanner {
  private readonly defs = new Map<string, JobDefinition>();
  private readonly hashes = new Map<string, { stamp: string; file: InputFile }>();

  constructor(
    private readonly store: ArtifactStore,
    private readonly baseDir: string,
    private readonly workspace: WorkspacePolicy,
  ) {}

  /** Adds a job type. */
  register(def: JobDefinition): void {
    if (this.defs.has(def.name)) throw new Error(`job '${def.name}' is already registered`);
    this.defs.set(def.name, def);
  }

  /** The registered job types. */
  jobs(): JobInfo[] {
    return [...this.defs.values()].map(({ name, summary, weight, kind }) => ({
      name,
      summary,
      weight,
      kind,
    }));
  }

  /** `path`, resolved against `base` (or the kernel's folder) when relative. */
  resolvePath(path: string, base?: string): string {
    return isAbsolute(path) ? path : resolve(base ?? this.baseDir, path);
  }

  /** Validates a request and computes its recipe and artifact key. */
  async prepare(job: string, params: unknown, base?: string): Promise<PreparedJob> {
    const def = this.defs.get(job);
    if (!def) {
      const known = [...this.defs.keys()].join(', ') || 'none';
      throw new InputError(`unknown job '${job}' (this kernel runs: ${known})`, { field: 'job' });
    }
    const parsed = def.params.safeParse(params);
    if (!parsed.success) throw paramsError(job, parsed.error);
    const folder = base ?? this.baseDir;
    const ctx: RecipeContext = {
      resolvePath: (path) => this.resolvePath(path, folder),
      inputFile: (path) => this.inputFile(this.resolvePath(path, folder)),
      artifactDir: (ref) => this.store.dir(ref.kind, ref.key),
    };
    const recipeOfJob = await def.recipe(parsed.data, ctx);
    const recipe: ArtifactRecipe = {
      kind: def.kind,
      inputs: recipeOfJob.inputs,
      config: { job: def.name, ...asObject(recipeOfJob.config) },
      seed: recipeOfJob.seed,
    };
    return {
      def,
      params: parsed.data,
      recipe,
      job: recipeOfJob,
      key: this.store.key(recipe),
      base: folder,
    };
  }

  /**
   * Reads a file for a client, with its hash: `path` relative to `base` (a folder the workspace
   * policy lets cells read), or, with `artifact`, a file inside that finished artifact (a path
   * that leaves its folder is refused). The content is text, or base64 bytes when asked for.
   */
  async readFile(
    path: string,
    base?: string,
    artifact?: ArtifactRef,
    encoding: FileEncoding = 'utf8',
  ): Promise<FileContent | BinaryFileContent> {
    let read;
    if (artifact) {
      const dir = this.store.dir(artifact.kind, artifact.key);
      read = await this.workspace.readWithin(dir, this.artifactFile(artifact, path));
    } else {
      if (base !== undefined) await this.workspace.checkBase(base);
      read = await this.workspace.readFile(this.resolvePath(path, base));
    }
    const file = { path: read.path, sha256: sha256(read.bytes), bytes: read.bytes.length };
    return encoding === 'base64'
      ? { ...file, base64: read.bytes.toString('base64') }
      : { ...file, text: read.bytes.toString('utf8') };
  }

  private artifactFile(artifact: ArtifactRef, path: string): string {
    const dir = this.store.dir(artifact.kind, artifact.key);
    const full = resolve(dir, path);
    const inside = relative(dir, full);
    if (isAbsolute(path) || inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      throw new InputError('expected the path of a file inside the artifact', {
        file: path,
        field: 'path',
      });
    }
    return full;
  }

  private async inputFile(path: string): Promise<InputFile> {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw unreadable(path, error);
    }
    const stamp = `${info.size}:${info.mtimeMs}`;
    const cached = this.hashes.get(path);
    if (cached?.stamp === stamp) return cached.file;
    const file = { path, sha256: sha256(await readFile(path)), bytes: info.size };
    this.hashes.set(path, { stamp, file });
    return file;
  }
}

function unreadable(file: string, error: unknown): InputError {
  return new InputError(`cannot read: ${(error as NodeJS.ErrnoException).code ?? error}`, { file });
}

function asObject(config: unknown): Record<string, unknown> {
  return config && typeof config === 'object' && !Array.isArray(config)
    ? (config as Record<string, unknown>)
    : { value: config };
}

function paramsError(job: string, error: z.ZodError): InputError {
  const issue = error.issues[0];
  const field = ['params', ...issue.path.map(String)].join('.');
  return new InputError(`${job}: ${issue.message}`, { field });
}
