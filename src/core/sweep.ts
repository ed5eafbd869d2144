import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { claim, ClaimHeldError, describeRefresh, LOCK_SUFFIX, type Claim } from './claim.ts';

/** One folder a sweep looked at, and why it was removed or kept. */
export interface SweptEntry {
  /** The folder. */
  path: string;
  /** Why, in words for a person: `in use by a running job (lock refreshed 2 s ago)`. */
  reason: string;
  /** Kept only because it holds an interrupted job's checkpoints; `sweep({ resumable: true })` removes it. */
  resumable?: boolean;
}

/** What a sweep removed and what it kept. */
export interface SweepReport {
  /** Folders deleted: their owner is gone and nothing in them is worth keeping. */
  removed: SweptEntry[];
  /** Folders left alone: owned by a live process, or holding resumable checkpoints. */
  kept: SweptEntry[];
}

/**
 * Sweeps `ROOT/tmp` (temporary artifact folders) and `ROOT/work` (jobs' work folders). A folder
 * is only ever removed while the sweep itself owns it, so its owner cannot be live at the time.
 */
export async function sweepStore(
  root: string,
  staleMs: number,
  resumable: boolean,
): Promise<SweepReport> {
  const report: SweepReport = { removed: [], kept: [] };
  for (const path of await guarded(join(root, 'tmp'))) {
    await sweepOne(path, staleMs, report, async () => 'temporary folder of a writer that is gone');
  }
  for (const path of await guarded(join(root, 'work'))) {
    await sweepOne(path, staleMs, report, async () => {
      if ((await readdir(path)).length === 0) return 'empty work folder of an interrupted job';
      return resumable ? 'checkpoints of an interrupted job' : undefined;
    });
  }
  return report;
}

/** The folders in `dir`, including those only a lock names (a writer that died before creating them). */
async function guarded(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const folders = new Set(
    names.map((name) => (name.endsWith(LOCK_SUFFIX) ? name.slice(0, -LOCK_SUFFIX.length) : name)),
  );
  return [...folders].sort().map((name) => join(dir, name));
}

/**
 * Claims `path`; when that succeeds its owner is gone, and `removable` says why it may go (or
 * undefined to keep it as resumable). Releasing the claim also removes a stale lock.
 */
async function sweepOne(
  path: string,
  staleMs: number,
  report: SweepReport,
  removable: () => Promise<string | undefined>,
): Promise<void> {
  let owner: Claim;
  try {
    owner = await claim(path, staleMs);
  } catch (error) {
    if (!(error instanceof ClaimHeldError)) throw error;
    const reason = `in use by a running job (${describeRefresh(error.refreshedAgoMs)})`;
    report.kept.push({ path, reason });
    return;
  }
  try {
    // Published or cleaned up by its owner between our listing and our claim: nothing to do.
    if (!existsSync(path)) return;
    const reason = await removable();
    if (reason === undefined) {
      report.kept.push({ path, reason: 'checkpoints of an interrupted job', resumable: true });
      return;
    }
    await rm(path, { recursive: true, force: true });
    report.removed.push({ path, reason });
  } finally {
    await owner.release();
  }
}
