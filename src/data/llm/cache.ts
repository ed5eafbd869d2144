import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../core/atomic.ts';
import { sha256 } from '../../core/hash.ts';

/** One cached exchange. */
export interface CacheRecord {
  /** The request path and body that were sent. */
  request: { path: string; body: string };
  /** The parsed JSON response body. */
  response: unknown;
}

/**
 * Responses of successful requests on disk, keyed by a hash of the URL path and the exact
 * request body, written atomically: an interrupted run resumes without paying twice.
 */
export class ResponseCache {
  constructor(readonly dir: string) {}

  /** The cache key of a request. */
  static key(path: string, body: string): string {
    return sha256(`${path}\n${body}`);
  }

  private file(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The cached response, if any (an unreadable entry counts as a miss). */
  async get(key: string): Promise<unknown | undefined> {
    try {
      return (JSON.parse(await readFile(this.file(key), 'utf8')) as CacheRecord).response;
    } catch {
      return undefined;
    }
  }

  /** Stores a response. */
  async put(key: string, record: CacheRecord): Promise<void> {
    await writeJsonAtomic(this.file(key), record);
  }
}
