// The one workspace policy of the UI server, Electron's main process and the kernel: where a
// notebook may be opened from and saved to, and which files a cell may read.
import { constants } from 'node:fs';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AccessError, InputError } from './errors.ts';

/** Largest notebook opened or saved: 50 MB. */
export const NOTEBOOK_MAX_BYTES = 50 * 1024 * 1024;

/** Largest file a cell reads by default: 256 MB. */
export const READ_MAX_BYTES = 256 * 1024 * 1024;

/**
 * The recent-notebooks list in FINEMED_HOME: written by the notebook library when the user opens
 * or saves a notebook, read here so a kernel in another process (Electron's) knows those folders.
 */
export const RECENT_FILE = 'recent.json';

/** What a workspace is built from (once per server). */
export interface WorkspaceOptions {
  /** The notebooks folder: new notebooks go here, and any notebook in it may be saved. */
  notebooksDir: string;
  /** FINEMED_HOME: the artifact store, recent list and trust store. */
  home: string;
  /** Further folders cells may read from (`--allow-read DIR`). */
  allowRead?: string[];
  /** Largest notebook opened or saved, in bytes (default {@link NOTEBOOK_MAX_BYTES}). */
  maxNotebookBytes?: number;
  /** Largest file a cell reads, in bytes (default {@link READ_MAX_BYTES}). */
  maxReadBytes?: number;
}

/** A file read under the policy: its real path and bytes. */
export interface ReadResult {
  /** The path with every symlink resolved. */
  path: string;
  /** The file's content. */
  bytes: Buffer;
}

/**
 * Decides every file access a client asks for, always on real paths (symlinks resolved) and
 * regular files only, with size limits:
 * - a notebook opens from wherever the user names, if it really is an `.html` file;
 * - a notebook saves only inside the notebooks folder, or over a file the user opened (or chose
 *   in a native dialog), and a save never creates a folder;
 * - a cell reads files inside the notebooks folder, FINEMED_HOME, the `--allow-read` folders
 *   and the folders of notebooks the user opened (this process's, and the recent list's).
 * Refusals are {@link AccessError}s.
 */
export class WorkspacePolicy {
  /** The notebooks folder, absolute. */
  readonly notebooksDir: string;
  /** FINEMED_HOME, absolute. */
  readonly home: string;
  /** Folders cells may read besides the notebooks folder and FINEMED_HOME, absolute. */
  readonly allowRead: readonly string[];
  /** See {@link WorkspaceOptions.maxNotebookBytes}. */
  readonly maxNotebookBytes: number;
  /** See {@link WorkspaceOptions.maxReadBytes}. */
  readonly maxReadBytes: number;
  private readonly granted = new Set<string>();

  constructor(options: WorkspaceOptions) {
    this.notebooksDir = resolve(options.notebooksDir);
    this.home = resolve(options.home);
    this.allowRead = (options.allowRead ?? []).map((dir) => resolve(dir));
    this.maxNotebookBytes = options.maxNotebookBytes ?? NOTEBOOK_MAX_BYTES;
    this.maxReadBytes = options.maxReadBytes ?? READ_MAX_BYTES;
  }

  /**
   * Reads a notebook for the user (who named it): the real path must be a regular `.html` file
   * within the size limit. With `grant`, the file may be saved over afterwards.
   */
  async readNotebook(path: string, options: { grant?: boolean } = {}): Promise<ReadResult> {
    const real = await realFile(notebookPath(path), 'open');
    if (extname(real) !== '.html') {
      throw new AccessError(`leads to ${real}, which is not an .html file`, {
        file: resolve(path),
      });
    }
    const read = { path: real, bytes: await readRegular(real, this.maxNotebookBytes) };
    if (options.grant) this.granted.add(real);
    return read;
  }

  /** Lets `path` be saved (a file the user chose in a native save dialog). */
  async grantSave(path: string): Promise<void> {
    this.granted.add(await this.realTarget(notebookPath(path)));
  }

  /** Moves a grant with its file (after a rename). */
  moved(from: string, to: string): void {
    if (this.granted.delete(from)) this.granted.add(to);
  }

  /**
   * Where a save of `path` writes (its real path), if it may: inside the notebooks folder, or
   * a file the user opened or chose. The folder must exist already.
   */
  async saveTarget(path: string, bytes: number): Promise<string> {
    const target = await this.realTarget(notebookPath(path));
    if (bytes > this.maxNotebookBytes) {
      throw new AccessError(`a notebook is at most ${mb(this.maxNotebookBytes)}`, { file: target });
    }
    if (this.granted.has(target)) return target;
    const notebooks = await realDir(this.notebooksDir);
    if (notebooks !== undefined && inside(notebooks, target)) return target;
    throw new AccessError(
      `notebooks are saved only inside the notebooks folder (${this.notebooksDir}) ` +
        'or over a notebook you opened',
      { file: target },
    );
  }

  /** The notebooks folder's real path, for a new notebook; refused when it does not exist. */
  async newNotebookDir(): Promise<string> {
    const dir = await realDir(this.notebooksDir);
    if (dir === undefined) {
      throw new InputError('the notebooks folder does not exist', { file: this.notebooksDir });
    }
    return dir;
  }

  /**
   * Checks the folder a client says its notebook lives in: only a folder inside one the
   * policy lets cells read is accepted.
   */
  async checkBase(base: string): Promise<void> {
    const full = resolve(base);
    const roots = await this.roots();
    const real = roots.named.some((root) => root === full || inside(root, full))
      ? await realpath(full).catch(() => full)
      : undefined;
    if (real === undefined || !roots.real.some((root) => root === real || inside(root, real))) {
      throw new AccessError(`${full} is not inside a folder cells may read from`, {
        field: 'base',
      });
    }
  }

  /** Reads a file for a cell: within the read roots, a regular file, within the size limit. */
  async readFile(path: string): Promise<ReadResult> {
    const full = resolve(path);
    const roots = await this.roots();
    // Refused before touching the path, so a cell cannot probe what exists elsewhere.
    if (!roots.named.some((root) => inside(root, full))) throw outside(full);
    const real = await realFile(full);
    if (!roots.real.some((root) => inside(root, real))) throw outside(full, real);
    return { path: real, bytes: await readRegular(real, this.maxReadBytes) };
  }

  /** Reads a file that must really be inside `root` (an artifact's folder). */
  async readWithin(root: string, path: string): Promise<ReadResult> {
    const real = await realFile(path);
    const realRoot = (await realDir(root)) ?? resolve(root);
    if (!inside(realRoot, real)) throw new AccessError(`leads outside ${root}`, { file: path });
    return { path: real, bytes: await readRegular(real, this.maxReadBytes) };
  }

  /**
   * The real folders cells may read from now: the notebooks folder, FINEMED_HOME, the added
   * folders, and the folders of notebooks the user opened, except a folder that holds the
   * user's home folder (a notebook kept in ~ does not open ~ to every cell).
   */
  async readRoots(): Promise<string[]> {
    return (await this.roots()).real;
  }

  /** The read roots as named (absolute) and as real paths (symlinks resolved, existing). */
  private async roots(): Promise<{ named: string[]; real: string[] }> {
    const opened = [...this.granted, ...(await this.recent())].map((p) => dirname(p));
    const home = resolve(homedir());
    const named = [
      ...new Set([
        this.notebooksDir,
        this.home,
        ...this.allowRead,
        ...opened.filter((dir) => !inside(dir, home) && dir !== home && dirname(dir) !== dir),
      ]),
    ];
    const real = (await Promise.all(named.map((dir) => realDir(dir)))).filter(
      (dir): dir is string => dir !== undefined,
    );
    return { named: [...new Set([...named, ...real])], real: [...new Set(real)] };
  }

  private async recent(): Promise<string[]> {
    try {
      const parsed: unknown = JSON.parse(await readFile(join(this.home, RECENT_FILE), 'utf8'));
      return Array.isArray(parsed)
        ? parsed.filter((p): p is string => typeof p === 'string' && isAbsolute(p))
        : [];
    } catch {
      return [];
    }
  }

  /** A save target's real path: its folder resolved (and existing), then its name. */
  private async realTarget(full: string): Promise<string> {
    const existing = await realpath(full).catch(() => undefined);
    if (existing !== undefined) {
      if (!(await stat(existing)).isFile()) {
        throw new AccessError('not a regular file', { file: existing });
      }
      return existing;
    }
    const dir = await realDir(dirname(full));
    if (dir === undefined) {
      throw new AccessError('the folder does not exist (a save never creates folders)', {
        file: full,
      });
    }
    return join(dir, basename(full));
  }
}

/** Checks a notebook path from a client: non-empty and an `.html` file; returns it absolute. */
export function notebookPath(path: string): string {
  if (typeof path !== 'string' || path.trim() === '')
    throw new InputError('a notebook path is required', { field: 'path' });
  const full = resolve(path);
  if (extname(full) !== '.html')
    throw new InputError('a notebook is an .html file', { file: full, field: 'path' });
  return full;
}

/** True when `path` is strictly inside folder `dir` (both absolute and normalized). */
export function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && rel.split(sep)[0] !== '..' && !isAbsolute(rel);
}

/**
 * Reads a regular file of at most `limit` bytes. The checks are made on the opened handle (no
 * symlink followed, no blocking on a FIFO), so a file swapped after the path was checked is
 * still refused, and a device like /dev/zero is refused without reading a byte.
 */
export async function readRegular(path: string, limit: number): Promise<Buffer> {
  const flags = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
  let handle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new AccessError('is a symbolic link', { file: path });
    throw new InputError(`cannot read: ${code ?? error}`, { file: path });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new AccessError('not a regular file', { file: path });
    if (info.size > limit) {
      throw new AccessError(`${mb(info.size)} is over the ${mb(limit)} limit`, { file: path });
    }
    const bytes = Buffer.alloc(info.size);
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesRead } = await handle.read(bytes, offset, bytes.length - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return offset === bytes.length ? bytes : bytes.subarray(0, offset);
  } finally {
    await handle.close();
  }
}

function outside(full: string, real?: string): AccessError {
  const where = real === undefined || real === full ? '' : ` (it leads to ${real})`;
  return new AccessError(
    `outside the folders cells may read${where}: the notebook's folder, the notebooks ` +
      'folder, FINEMED_HOME, and folders added with --allow-read',
    { file: full },
  );
}

async function realFile(full: string, verb = 'read'): Promise<string> {
  try {
    return await realpath(full);
  } catch (error) {
    throw new InputError(`cannot ${verb}: ${(error as NodeJS.ErrnoException).code ?? error}`, {
      file: full,
    });
  }
}

async function realDir(dir: string): Promise<string | undefined> {
  return realpath(dir).catch(() => undefined);
}

function mb(bytes: number): string {
  const MB = 1024 * 1024;
  return bytes >= MB ? `${+(bytes / MB).toFixed(1)} MB` : `${bytes} bytes`;
}
