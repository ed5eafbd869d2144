import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CausalLM } from '../model/causal-lm.ts';
import {
  DamagedCheckpointError,
  listCheckpoints,
  readTrainingCheckpoint,
  type TrainingCheckpoint,
} from './checkpoints.ts';

/**
 * When this module was loaded (in a kernel job: when its worker thread started). A temporary
 * folder that this process's pid wrote and that was last touched before then cannot be a write
 * in progress here: writes start after this module loads and touch their folder as they go.
 */
const LOADED = Date.now();

/** The temporary folders of {@link saveCheckpoint}, `.tmp-checkpoint-<step>-<pid>-<hex>`; older versions wrote no pid. */
const TMP = /^\.tmp-checkpoint-\d+-(?:(\d+)-)?[0-9a-f]+$/;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary folders of checkpoint writes that were killed mid-way (power loss,
 * SIGKILL, a terminated worker), and returns their paths. A folder is left alone while its
 * writer may still be running: its pid names a live process other than this one, or it is
 * this process's and newer than this module. Folders without a pid (older versions) are
 * removed when they predate this module.
 */
export async function removeStaleTemps(outDir: string): Promise<string[]> {
  const names = await readdir(outDir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const match = TMP.exec(name);
    if (!match) continue;
    const path = join(outDir, name);
    const pid = match[1] === undefined ? undefined : Number(match[1]);
    if (pid !== undefined && pid !== process.pid) {
      if (isRunning(pid)) continue;
    } else {
      const info = await stat(path).catch(() => undefined);
      if (!info || info.mtimeMs >= LOADED) continue;
    }
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}

/** A checkpoint skipped on resume, and why. */
export interface SkippedCheckpoint {
  /** The folder as it was found. */
  dir: string;
  /** Where it was moved so that it no longer counts as a checkpoint. */
  movedTo: string;
  /** What is wrong with it, naming the file. */
  reason: string;
}

/**
 * The newest checkpoint in `outDir` that reads whole and fits `model`, or undefined when there
 * is none. Damaged newer ones are reported to `onSkip` and renamed `checkpoint-<N>.damaged`
 * (kept for inspection, out of the way of listing, pruning and the resumed run's own saves).
 */
export async function newestValidCheckpoint(
  outDir: string,
  model: CausalLM,
  onSkip: (skipped: SkippedCheckpoint) => void,
): Promise<TrainingCheckpoint | undefined> {
  for (const dir of (await listCheckpoints(outDir)).reverse()) {
    try {
      return await readTrainingCheckpoint(dir, model);
    } catch (error) {
      if (!(error instanceof DamagedCheckpointError)) throw error;
      const movedTo = `${dir}.damaged`;
      await rm(movedTo, { recursive: true, force: true });
      await rename(dir, movedTo);
      onSkip({ dir, movedTo, reason: error.message });
    }
  }
  return undefined;
}

/** `checkpoint-40` for a checkpoint of the run's own folder, else the path as given. */
export function checkpointLabel(dir: string, outDir: string): string {
  return join(outDir, basename(dir)) === join(dir) ? basename(dir) : dir;
}
