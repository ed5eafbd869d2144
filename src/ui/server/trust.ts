import { readFile } from 'node:fs/promises';
import { writeJsonAtomic } from '../../core/atomic.ts';

/**
 * The hashes of notebook texts the user has trusted, kept in one JSON file. Trust follows
 * the exact text: a notebook changed by someone else is untrusted again.
 */
export class TrustStore {
  constructor(readonly file: string) {}

  /** True when the text with this hash was trusted. */
  async has(hash: string): Promise<boolean> {
    return (await this.read()).includes(hash);
  }

  /** Trusts the text with this hash. */
  async add(hash: string): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`not a SHA-256 hash: '${hash}'`);
    const hashes = await this.read();
    if (!hashes.includes(hash)) await writeJsonAtomic(this.file, [...hashes, hash]);
  }

  private async read(): Promise<string[]> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      return Array.isArray(parsed) ? parsed.filter((h): h is string => typeof h === 'string') : [];
    } catch {
      return [];
    }
  }
}
