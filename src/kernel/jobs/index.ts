import type { JobDefinition } from '../job.ts';

/** The job types a workbench kernel runs: one for each pipeline layer with a library API. */
export function defaultJobs(): JobDefinition[] {
  return [];
}
