import { basename } from 'node:path';
import { InputError } from '../core/errors.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { newestValidCheckpoint, removeStaleTemps } from './checkpoint-recovery.ts';
import { readTrainingCheckpoint, type TrainingCheckpoint } from './checkpoints.ts';
import type { TrainerOptions } from './trainer-types.ts';

/**
 * Clears dead writers' temporary folders, then finds the checkpoint to continue from: the
 * folder `o.resume` names, or the newest intact one in `checkpointDir` (damaged newer ones are
 * skipped with a notice). It must belong to the run `fingerprint` names. Nothing is applied
 * to the model yet.
 */
export async function resumePoint(
  o: TrainerOptions,
  model: CausalLM,
  fingerprint: string,
  notice: (message: string) => void,
): Promise<TrainingCheckpoint | undefined> {
  for (const path of await removeStaleTemps(o.checkpointDir))
    notice(`removed ${basename(path)}, the unfinished checkpoint of a run that was stopped`);
  const from = await findCheckpoint(o, model, notice);
  if (from && from.state.fingerprint !== fingerprint)
    throw new InputError(
      'the checkpoint belongs to a run with other data or settings; start a new output folder or drop --resume',
      { file: from.dir },
    );
  return from;
}

async function findCheckpoint(
  o: TrainerOptions,
  model: CausalLM,
  notice: (message: string) => void,
): Promise<TrainingCheckpoint | undefined> {
  if (!o.resume) return undefined;
  if (typeof o.resume === 'string' && o.resume !== 'auto')
    return readTrainingCheckpoint(o.resume, model);
  const found = await newestValidCheckpoint(o.checkpointDir, model, (skipped) =>
    notice(
      `skipping damaged ${basename(skipped.dir)} (${skipped.reason}); moved to ${basename(skipped.movedTo)}`,
    ),
  );
  if (!found && o.resume === true)
    throw new InputError('no checkpoint to resume from', { file: o.checkpointDir });
  return found;
}
