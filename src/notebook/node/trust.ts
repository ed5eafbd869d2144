import { readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeJsonAtomic } from '../../core/atomic.ts';
import { sha256 } from '../../core/hash.ts';
import { finemedHome } from '../../core/home.ts';
import { projectRoot } from '../../core/version.ts';
import { inside } from '../../core/workspace.ts';

/** The project's own notebooks, trusted without asking. */
export const PROJECT_NOTEBOOKS = join(projectRoot, 'notebooks');

/**
 * Which notebooks may run their code: those in a trusted folder (the project's own
 * `notebooks/`), and those whose exact text the user trusted. The store is
 * `FINEMED_HOME/trust.json`, a JSON array of the SHA-256 hashes of trusted notebook texts
 * (the same file the app's notebook library keeps), so an edit by someone else is untrusted again.
 */
export class NotebookTrust {
  /** The store file. */
  readonly file: string;

  constructor(
    home: string = finemedHome(),
    private readonly trustedDirs: string[] = [PROJECT_NOTEBOOKS],
  ) {
    this.file = join(home, 'trust.json');
  }

  /**
   * Whether the notebook at `path` with this text may run. Folders are compared by real path,
   * so a symlink placed in a trusted folder does not lend its trust to a file elsewhere.
   */
  async isTrusted(path: string, text: string): Promise<boolean> {
    const full = await real(path);
    const dirs = await Promise.all(this.trustedDirs.map(real));
    return dirs.some((dir) => inside(dir, full)) || (await this.hashes()).includes(sha256(text));
  }

  /** Trusts this exact notebook text. */
  async trust(text: string): Promise<void> {
    const hash = sha256(text);
    const hashes = await this.hashes();
    if (!hashes.includes(hash)) await writeJsonAtomic(this.file, [...hashes, hash]);
  }

  private async hashes(): Promise<string[]> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      return Array.isArray(parsed) ? parsed.filter((h): h is string => typeof h === 'string') : [];
    } catch {
      return [];
    }
  }
}

/** `path` with symlinks resolved; for a file not written yet, its folder resolved. */
async function real(path: string): Promise<string> {
  const full = resolve(path);
  const file = await realpath(full).catch(() => undefined);
  if (file !== undefined) return file;
  const dir = await realpath(dirname(full)).catch(() => dirname(full));
  return join(dir, basename(full));
}
