import type { JobDefinition } from '../job.ts';
import { compareJob, evaluateJob } from './eval.ts';
import { generateJob, initModelJob, loadModelJob } from './model.ts';
import { synthJob } from './synth.ts';

/**
 * The job types a workbench kernel runs: one for each pipeline layer with a library API.
 * Training (`train.sft`, `train.dpo`) and test-time training (`ttt`) join when the training
 * layer exposes one.
 */
export function defaultJobs(): JobDefinition[] {
  return [synthJob, initModelJob, loadModelJob, generateJob, evaluateJob, compareJob];
}
