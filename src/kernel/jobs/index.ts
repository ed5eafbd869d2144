import type { JobDefinition } from '../job.ts';
import { compareJob, evaluateJob } from './eval.ts';
import { generateJob, initModelJob, loadModelJob } from './model.ts';

/**
 * The job types a workbench kernel runs: one for each pipeline layer with a library API.
 * Synthesis (`synth`), training (`train.sft`, `train.dpo`) and test-time training (`ttt`)
 * join when their layers expose one.
 */
export function defaultJobs(): JobDefinition[] {
  return [initModelJob, loadModelJob, generateJob, evaluateJob, compareJob];
}
