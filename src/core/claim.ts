import { stat } from 'node:fs/promises';
import lockfile from 'proper-lockfile';

/**
 * How long an owner may go without refreshing its lock before other processes presume it gone.
 * Owners refresh every sixth of this; it is long enough that a busy event loop (an index built
 * synchronously, a loaded laptop) does not lose a live job's folder to a sweep.
 */
export const DEFAULT_STALE_MS = 30_000;

/**
 * Ownership of a folder by this process, held as a `PATH.lock` directory whose modification
 * time the owner keeps fresh (proper-lockfile). Any process on any OS, even on another machine
 * sharing the folder, can tell a live owner from a gone one without trusting pids, which are
 * recycled and mean nothing across machines.
 */
export interface Claim {
  /** The claimed folder (it may not exist yet: claim first, then create, so no sweep sees it unowned). */
  readonly path: string;
  /** Why the claim was lost while held (its lock went stale and another process took it over). */
  readonly lost: Error | undefined;
  /** Gives the folder up; safe to call twice and after the claim was lost. */
  release(): Promise<void>;
}

/** The error a claim fails with when a live owner holds the folder. */
export class ClaimHeldError extends Error {
  constructor(
    /** The folder that is held. */
    readonly path: string,
    /** Milliseconds since its owner last refreshed the lock. */
    readonly refreshedAgoMs: number | undefined,
  ) {
    super(`${path} is owned by a running process (${describeRefresh(refreshedAgoMs)})`);
    this.name = 'ClaimHeldError';
  }
}

/**
 * Claims `path` for this process. Throws {@link ClaimHeldError} when a live owner holds it
 * (after `retries` further tries, 0.1 s apart and doubling up to 1 s); a stale lock (its owner stopped
 * refreshing `staleMs` ago: killed, crashed) is taken over.
 */
export async function claim(path: string, staleMs = DEFAULT_STALE_MS, retries = 0): Promise<Claim> {
  let lost: Error | undefined;
  let released = false;
  let unlock: () => Promise<void>;
  try {
    unlock = await lockfile.lock(path, {
      realpath: false,
      stale: staleMs,
      // Several refreshes per stale period, so one late timer on a loaded machine is no loss.
      update: staleMs / 6,
      retries: { retries, minTimeout: 100, maxTimeout: 1000 },
      // The default throws from a timer and kills the process; the owner learns of it instead.
      onCompromised: (error) => (lost = error),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED')
      throw new ClaimHeldError(path, await refreshedAgo(path));
    throw error;
  }
  return {
    path,
    get lost() {
      return lost;
    },
    async release() {
      if (released || lost) return;
      released = true;
      await unlock();
    },
  };
}

/** Milliseconds since the owner of `path` last refreshed its lock, or undefined without a lock. */
export async function refreshedAgo(path: string): Promise<number | undefined> {
  try {
    return Math.max(0, Date.now() - (await stat(`${path}.lock`)).mtimeMs);
  } catch {
    return undefined;
  }
}

/** `lock refreshed 3 s ago`, for messages about a held folder. */
export function describeRefresh(ms: number | undefined): string {
  return ms === undefined ? 'lock just released' : `lock refreshed ${Math.round(ms / 1000)} s ago`;
}

/** The suffix of lock directories, which sit beside the folders they guard. */
export const LOCK_SUFFIX = '.lock';
