import { readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic.ts';
import { InputError } from '../../core/errors.ts';
import { sha256 } from '../../core/hash.ts';
import { RECENT_FILE, WorkspacePolicy, notebookPath } from '../../core/workspace.ts';
import { NotebookTrust } from '../../notebook/node/trust.ts';
import {
  newNotebookText,
  notebookFileName,
  renameNew,
  slugify,
  writeNewFile,
} from './notebook-files.ts';

export { notebookPath } from '../../core/workspace.ts';

/** A notebook the UI can offer to open. */
export interface NotebookEntry {
  /** Absolute path. */
  path: string;
  /** The file name. */
  name: string;
  /** `project` for the listed folder, `recent` for files opened before. */
  source: 'project' | 'recent';
}

/** Unsaved edits kept beside the store so a closed window or a crash loses nothing. */
export interface Recovery {
  /** The notebook text as last edited. */
  text: string;
  /** ISO time of the last autosave. */
  savedAt: string;
  /** Hash of the file on disk the edits started from. */
  baseSha256: string;
}

/** A notebook file as the UI receives it. */
export interface OpenedNotebook {
  /** Absolute path. */
  path: string;
  /** The file's text. */
  text: string;
  /** Hex SHA-256 of the text. */
  sha256: string;
  /** Whether its code may run: in a trusted folder, or its exact text was trusted. */
  trusted: boolean;
  /** Unsaved edits from an earlier session, when there are any. */
  recovery?: Recovery;
}

/** Where a library keeps its state and which notebooks it lists. */
export interface NotebookLibraryOptions {
  /** The workbench's data folder (FINEMED_HOME): recent files, recovery files, trust store. */
  home: string;
  /** The folder whose `*.html` files are listed. */
  listDir: string;
  /** Folders whose notebooks are trusted without asking (the project's own notebooks/). */
  trustedDirs?: string[];
  /**
   * Where notebooks may be opened from and saved to (shared with the kernel, which reads the
   * folders of opened notebooks); default: `listDir` is the notebooks folder, `home` FINEMED_HOME.
   */
  workspace?: WorkspacePolicy;
}

const RECENT_LIMIT = 12;

/**
 * Opens, saves, creates, renames and lists notebook files for the UI (the `serve` process and
 * Electron's main process) under the workspace policy: atomic saves, a recent-files list,
 * recovery files for unsaved edits, and trust decided here from what the user did.
 */
export class NotebookLibrary {
  /** The policy every open, save, create and rename goes through. */
  readonly workspace: WorkspacePolicy;
  private readonly trustStore: NotebookTrust;

  constructor(private readonly options: NotebookLibraryOptions) {
    this.trustStore = new NotebookTrust(options.home, options.trustedDirs ?? []);
    this.workspace =
      options.workspace ??
      new WorkspacePolicy({ notebooksDir: options.listDir, home: options.home });
  }

  /** The listed folder's notebooks, then recent files from elsewhere that still exist. */
  async list(): Promise<NotebookEntry[]> {
    const named = resolve(this.options.listDir);
    // Real paths, as open() returns them, so the list and an open notebook agree.
    const dir = await realpath(named).catch(() => named);
    const names = await readdir(dir).catch(() => [] as string[]);
    const project = names
      .filter((n) => extname(n) === '.html')
      .sort()
      .map((name): NotebookEntry => ({ path: join(dir, name), name, source: 'project' }));
    const seen = new Set(project.map((e) => e.path));
    const recent: NotebookEntry[] = [];
    for (const path of await this.recent()) {
      if (seen.has(path) || !(await exists(path))) continue;
      recent.push({ path, name: basename(path), source: 'recent' });
    }
    return [...project, ...recent];
  }

  /** Recently opened or saved files, most recent first. */
  async recent(): Promise<string[]> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.recentFile(), 'utf8'));
      return Array.isArray(parsed) ? parsed.filter((p): p is string => typeof p === 'string') : [];
    } catch {
      return [];
    }
  }

  /**
   * Reads a notebook the user named, with its trust state and any recovered edits. Its real
   * path must be a regular `.html` file; once opened, it may be saved over.
   */
  async open(path: string): Promise<OpenedNotebook> {
    const read = await this.workspace.readNotebook(path, { grant: true });
    const full = read.path;
    const text = read.bytes.toString('utf8');
    const recovery = await this.recovery(full);
    await this.remember(full);
    return {
      path: full,
      text,
      sha256: sha256(text),
      trusted: await this.trustStore.isTrusted(full, text),
      ...(recovery ? { recovery } : {}),
    };
  }

  /**
   * Writes a notebook atomically where the workspace policy allows, and drops its recovery
   * file. The saved text is trusted when its folder is trusted, or when the file it replaces
   * was trusted (the user's own notebook stays trusted as they edit it); a request cannot ask.
   */
  async save(path: string, text: string): Promise<{ sha256: string; trusted: boolean }> {
    const target = await this.workspace.saveTarget(path, Buffer.byteLength(text));
    const trusted =
      (await this.trustStore.isTrusted(target, text)) || (await this.trustedOnDisk(target));
    await writeFileAtomic(target, text);
    if (trusted) await this.trustStore.trust(text);
    await this.discardRecovery(target);
    await this.remember(target);
    return { sha256: sha256(text), trusted };
  }

  /**
   * Creates a notebook in the notebooks folder, named from its title (`-2`, `-3`... when taken;
   * never over an existing file), with the title and one Markdown cell. The user wrote it, so
   * it is trusted.
   */
  async create(title: string): Promise<OpenedNotebook> {
    const dir = await this.workspace.newNotebookDir();
    const text = newNotebookText(title);
    const path = await writeNewFile(dir, slugify(title), text);
    await this.trustStore.trust(text);
    await this.remember(path);
    return { path, text, sha256: sha256(text), trusted: true };
  }

  /**
   * Renames a notebook the policy lets the user save, within its folder, never over another
   * file; its recovery file and its place in the recent list follow it.
   */
  async rename(path: string, name: string): Promise<{ path: string }> {
    const file = notebookFileName(name);
    const from = await this.workspace.saveTarget(path, 0);
    const info = await stat(from).catch(() => undefined);
    if (!info?.isFile()) throw new InputError('no such notebook', { file: from, field: 'path' });
    const to = join(dirname(from), file);
    await renameNew(from, to);
    this.workspace.moved(from, to);
    const recovery = await this.recovery(from);
    if (recovery) {
      await writeJsonAtomic(this.recoveryFile(to), { path: to, ...recovery });
      await rm(this.recoveryFile(from), { force: true });
    }
    const recent = await this.recent();
    if (recent.includes(from)) {
      await writeJsonAtomic(
        this.recentFile(),
        recent.map((p) => (p === from ? to : p)),
      );
    }
    return { path: to };
  }

  /** Keeps unsaved edits of `path` in a recovery file (atomic; the last write wins). */
  async saveRecovery(path: string, text: string, baseSha256: string): Promise<void> {
    const full = notebookPath(path);
    const recovery: Recovery = { text, savedAt: new Date().toISOString(), baseSha256 };
    await writeJsonAtomic(this.recoveryFile(full), { path: full, ...recovery });
  }

  /** Drops the recovery file of `path`, if any. */
  async discardRecovery(path: string): Promise<void> {
    await rm(this.recoveryFile(notebookPath(path)), { force: true });
  }

  /**
   * Trusts the notebook's text on disk, provided it is still the text the user saw (the hash
   * the UI got when it opened the file); otherwise the user must look at it again.
   */
  async trust(path: string, hash: string): Promise<void> {
    const read = await this.workspace.readNotebook(path);
    const text = read.bytes.toString('utf8');
    if (sha256(text) !== hash) {
      throw new InputError('the file changed on disk since it was opened; open it again', {
        file: read.path,
      });
    }
    await this.trustStore.trust(text);
  }

  /** Whether the notebook now at `path` (about to be replaced) is trusted; false if none. */
  private async trustedOnDisk(path: string): Promise<boolean> {
    const read = await this.workspace.readNotebook(path).catch(() => undefined);
    return read !== undefined && this.trustStore.isTrusted(read.path, read.bytes.toString('utf8'));
  }

  private async recovery(path: string): Promise<Recovery | undefined> {
    try {
      const stored = JSON.parse(await readFile(this.recoveryFile(path), 'utf8')) as Recovery;
      return { text: stored.text, savedAt: stored.savedAt, baseSha256: stored.baseSha256 };
    } catch {
      return undefined;
    }
  }

  private async remember(path: string): Promise<void> {
    const list = [path, ...(await this.recent()).filter((p) => p !== path)].slice(0, RECENT_LIMIT);
    await writeJsonAtomic(this.recentFile(), list);
  }

  private recentFile(): string {
    return join(this.options.home, RECENT_FILE);
  }

  private recoveryFile(path: string): string {
    return join(this.options.home, 'recovery', `${sha256(path).slice(0, 24)}.json`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
