import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic.ts';
import { InputError } from '../../core/errors.ts';
import { sha256 } from '../../core/hash.ts';
import { NotebookTrust } from '../../notebook/node/trust.ts';

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
}

const RECENT_LIMIT = 12;

/**
 * Opens, saves and lists notebook files for the UI (the `serve` process and Electron's main
 * process): atomic saves, a recent-files list, recovery files for unsaved edits, and trust.
 */
export class NotebookLibrary {
  private readonly trustStore: NotebookTrust;

  constructor(private readonly options: NotebookLibraryOptions) {
    this.trustStore = new NotebookTrust(options.home, options.trustedDirs ?? []);
  }

  /** The listed folder's notebooks, then recent files from elsewhere that still exist. */
  async list(): Promise<NotebookEntry[]> {
    const dir = resolve(this.options.listDir);
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

  /** Reads a notebook with its trust state and any recovered edits. */
  async open(path: string): Promise<OpenedNotebook> {
    const full = notebookPath(path);
    let text: string;
    try {
      text = await readFile(full, 'utf8');
    } catch (error) {
      throw new InputError(`cannot open: ${(error as NodeJS.ErrnoException).code ?? error}`, {
        file: full,
      });
    }
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
   * Writes a notebook atomically and drops its recovery file. When the edits came from a
   * trusted notebook, the saved text stays trusted: its author is the user.
   */
  async save(
    path: string,
    text: string,
    options: { trusted: boolean },
  ): Promise<{ sha256: string }> {
    const full = notebookPath(path);
    await writeFileAtomic(full, text);
    if (options.trusted) await this.trustStore.trust(text);
    await this.discardRecovery(full);
    await this.remember(full);
    return { sha256: sha256(text) };
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
    const full = notebookPath(path);
    const text = await readFile(full, 'utf8');
    if (sha256(text) !== hash) {
      throw new InputError('the file changed on disk since it was opened; open it again', {
        file: full,
      });
    }
    await this.trustStore.trust(text);
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
    return join(this.options.home, 'recent.json');
  }

  private recoveryFile(path: string): string {
    return join(this.options.home, 'recovery', `${sha256(path).slice(0, 24)}.json`);
  }
}

/** Checks a notebook path from a client: absolute or resolvable, and an `.html` file. */
export function notebookPath(path: string): string {
  if (typeof path !== 'string' || path.trim() === '')
    throw new InputError('a notebook path is required', { field: 'path' });
  const full = resolve(path);
  if (extname(full) !== '.html')
    throw new InputError('a notebook is an .html file', { file: full, field: 'path' });
  return full;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
