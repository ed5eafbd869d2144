import { z } from 'zod';
import type { ProgressEvent } from '../core/progress.ts';
import type { ArtifactRef, CostEstimate, InputFile, JobWeight } from './protocol.ts';

/** What a job's recipe says about a run before it starts: it keys the artifact. */
export interface JobRecipe {
  /** Content hashes of inputs by role (upstream artifact keys, file hashes). */
  inputs: Record<string, string>;
  /** The configuration that shapes the result (any JSON value). */
  config: unknown;
  /** The seed the job draws its randomness from. */
  seed: number;
  /** The input files read, with their hashes, for manifests. */
  files: InputFile[];
  /** Figures the cost estimate needs that only the recipe learns (e.g. the model's size); not part of the key. */
  facts?: Record<string, number>;
}

/** Helpers a recipe may use on the kernel's thread (hashing is cheap; running is not). */
export interface RecipeContext {
  /** Resolves a path the user gave relative to the notebook's folder. */
  resolvePath(path: string): string;
  /** Hashes an input file (cached per path, size and mtime). */
  inputFile(path: string): Promise<InputFile>;
  /** The folder of an upstream artifact (to hash or size the files a job will read from it). */
  artifactDir(ref: ArtifactRef): string;
}

/**
 * A job type the kernel can run. The implementation runs in a worker thread, so it is named
 * by module URL and export rather than passed as a function.
 */
export interface JobDefinition<P = unknown> {
  /** Unique name, e.g. `synth`, `train.sft`, `eval`. */
  name: string;
  /** One line for job lists. */
  summary: string;
  /** Heavy jobs run one at a time; light jobs run alongside them. */
  weight: JobWeight;
  /** The artifact kind the job produces. */
  kind: string;
  /** Validates parameters as they arrive from a client. */
  params: z.ZodType<P>;
  /** Computes what keys the result (cheap; runs on the kernel's thread). */
  recipe(params: P, ctx: RecipeContext): Promise<JobRecipe>;
  /** Estimates the run's cost from its parameters and recipe (input file sizes are in `recipe.files`). */
  estimate(params: P, recipe: JobRecipe): CostEstimate;
  /** URL of the module that exports the implementation (see {@link JobImplementation}). */
  module: string;
  /** The implementation's export name; defaults to `run`. */
  exportName?: string;
}

/** What an implementation receives inside its worker thread. */
export interface JobContext {
  /** Aborted when the job is cancelled; long loops check it between steps. */
  signal: AbortSignal;
  /** The folder to write the artifact's files into (renamed into the store when done). */
  dir: string;
  /**
   * A folder that outlives a cancelled or failed run of the same artifact (training checkpoints
   * go here, so a re-run resumes); the kernel deletes it once the artifact is complete.
   */
  workDir: string;
  /** The seed from the recipe. */
  seed: number;
  /** Resolves a path the user gave relative to the notebook's folder. */
  resolvePath(path: string): string;
  /** The folder of an upstream artifact. */
  artifactDir(ref: ArtifactRef): string;
  /** The artifact store's root, for jobs that keep intermediate artifacts (retrieval indexes). */
  storeRoot: string;
  /** Reports progress to every client watching the job. */
  progress(event: ProgressEvent): void;
}

/** The function a job module exports: returns the artifact's summary (any JSON value). */
export type JobImplementation<P = unknown> = (params: P, ctx: JobContext) => Promise<unknown>;

/** Declares a job with its parameter type inferred from the schema. */
export function defineJob<S extends z.ZodType>(
  definition: Omit<JobDefinition<z.infer<S>>, 'params'> & { params: S },
): JobDefinition {
  // A misspelt knob must fail and name itself, not be dropped while its default stays in force.
  const params =
    definition.params instanceof z.ZodObject ? definition.params.strict() : definition.params;
  return { ...definition, params } as unknown as JobDefinition;
}
