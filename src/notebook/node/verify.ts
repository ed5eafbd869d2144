import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '../../core/artifacts.ts';
import { InputError } from '../../core/errors.ts';
import { sha256 } from '../../core/hash.ts';
import type { JobDefinition } from '../../kernel/job.ts';
import type { SessionEvent } from '../session.ts';
import type { TimedOut } from './deadline.ts';
import type { RunManifest } from './manifest.ts';
import { compareResults, type Difference, type RunResults } from './results.ts';
import { runNotebookHeadless } from './runner.ts';

/** How a recorded run is verified. */
export interface VerifyOptions {
  /** The folder a headless run wrote (manifest.json, results.json). */
  dir: string;
  /** Where the re-run writes its own report (default `DIR/verify`). */
  outDir?: string;
  /** Reuse finished artifacts instead of recomputing every job in a fresh store. */
  reuse?: boolean;
  /** Trust the notebook (see `finemed run --trust`). */
  trust?: boolean;
  /** The workbench folder (trust store, and the store reused with `reuse`). */
  home?: string;
  /** The job types the kernel runs. */
  jobs: JobDefinition[];
  /** Stops the re-run. */
  signal?: AbortSignal;
  /** Ends the re-run after this many milliseconds (see `runNotebookHeadless`). */
  timeoutMs?: number;
  /** Sees the re-run's cell states and values. */
  onEvent?: (event: SessionEvent) => void;
}

/** An input whose content is not what the recorded run read. */
export interface InputChange {
  /** The file. */
  path: string;
  /** Its hash in the recorded run. */
  recorded: string;
  /** Its hash now, or null when it is gone. */
  now: string | null;
}

/** What `verify` found. */
export interface VerifyOutcome {
  /** Values the re-run did not reproduce. */
  differences: Difference[];
  /** How many numbers were compared. */
  numbers: number;
  /** Inputs (the notebook included) that changed since the recorded run. */
  inputChanges: InputChange[];
  /** Where the re-run's report is. */
  reportPath: string;
  /** Whether the time limit ended the re-run, and which cells were still at work. */
  timedOut: TimedOut | null;
}

/**
 * Re-runs the notebook a manifest records, with the same preset and seed, and checks every value in
 * results.json: numbers within the tolerance their cell declares, everything else exactly.
 * By default every job is recomputed in a fresh artifact store, so training is reproduced,
 * not just looked up.
 */
export async function verifyRun(options: VerifyOptions): Promise<VerifyOutcome> {
  const manifest = await readJson<RunManifest>(join(options.dir, 'manifest.json'));
  const recorded = await readJson<RunResults>(join(options.dir, 'results.json'));
  if (manifest.format !== 'finemed-manifest/1' || recorded.format !== 'finemed-results/1') {
    throw new InputError('not a run folder this version of finemed wrote (unknown format)', {
      file: join(options.dir, 'manifest.json'),
    });
  }
  const inputChanges: InputChange[] = [];
  const files = [
    { path: manifest.notebook.path, sha256: manifest.notebook.sha256 },
    ...manifest.inputs,
  ];
  for (const file of files) {
    const now = await readFile(file.path).then(sha256, () => null);
    if (now !== file.sha256) inputChanges.push({ path: file.path, recorded: file.sha256, now });
  }
  const scratch = options.reuse ? undefined : await mkdtemp(join(tmpdir(), 'finemed-verify-'));
  try {
    const rerun = await runNotebookHeadless({
      notebook: manifest.notebook.path,
      outDir: options.outDir ?? join(options.dir, 'verify'),
      preset: manifest.preset,
      seed: manifest.seed,
      trust: options.trust,
      home: options.home,
      store: scratch ? new ArtifactStore(scratch) : undefined,
      jobs: options.jobs,
      signal: options.signal,
      onEvent: options.onEvent,
      timeoutMs: options.timeoutMs,
    });
    return {
      ...compareResults(recorded, rerun.results),
      inputChanges,
      reportPath: rerun.reportPath,
      timedOut: rerun.timedOut,
    };
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

async function readJson<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new InputError('not found: is this the output folder of `finemed run`?', { file: path });
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new InputError(`not valid JSON: ${(error as Error).message}`, { file: path });
  }
}
