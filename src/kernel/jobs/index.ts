import type { JobDefinition } from '../job.ts';
import { compareJob, evaluateJob } from './eval.ts';
import { exportTrlJob } from './export.ts';
import { importModelJob } from './import.ts';
import { generateJob, initModelJob, loadModelJob } from './model.ts';
import { synthJob } from './synth.ts';
import { dpoJob, dpoLogpsJob, sftJob, tttJob } from './train.ts';

/**
 * The job types a workbench kernel runs, one for each `wb` method: synthesis, model creation,
 * loading and import, generation, SFT, DPO (and its per-pair log-probs), test-time training,
 * evaluation and comparison, and the export of a stage for TRL.
 */
export function defaultJobs(): JobDefinition[] {
  return [
    synthJob,
    initModelJob,
    loadModelJob,
    importModelJob,
    generateJob,
    sftJob,
    dpoJob,
    dpoLogpsJob,
    tttJob,
    evaluateJob,
    compareJob,
    exportTrlJob,
  ];
}
