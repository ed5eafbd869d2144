import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeJsonAtomic } from '../../core/atomic.ts';
import { sha256 } from '../../core/hash.ts';
import { finemedHome } from '../../core/home.ts';
import { projectRoot } from '../../core/version.ts';

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

  /** Whether the notebook at `path` with this text may run. */
  async isTrusted(path: string, text: string): Promise<boolean> {
    const full = resolve(path);
    const inTrustedDir = this.trustedDirs.some((dir) => {
      const rel = relative(resolve(dir), full);
      return rel !== '' && rel.split(sep)[0] !== '..' && !isAbsolute(rel);
    });
    return inTrustedDir || (await this.hashes()).includes(sha256(text));
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
