// Browser-safe: `wb`, the workbench API every notebook cell receives.
import type { ArtifactMeta } from '../core/artifacts.ts';
import { poolSeeds, spread } from '../eval/seeds.ts';
import {
  accuracyCI,
  bootstrapMean,
  bySubject,
  comparePaired,
  mcnemarExact,
  quantile,
} from '../eval/stats.ts';
import type { z } from 'zod';
import type { KernelClient } from '../kernel/client.ts';
import type { dpoParams, sftParams, tttParams } from '../kernel/jobs/train.ts';
import type { ArtifactRef, FileContent, InputFile, JobInfo, JobPlan } from '../kernel/protocol.ts';
import {
  JobRun,
  UpstreamError,
  WAITING_PREFIX,
  WaitingError,
  isJobState,
  runOf,
  type JobOutcome,
  type JobState,
} from './job-run.ts';
import { recipe, sharedStageParams, type Recipe, type SharedStageParams } from './recipe.ts';
import { WORKBENCH_LADDER } from './wb-ladder.ts';

/** The kernel job behind each named `wb` method. */
export const WORKBENCH_JOBS = {
  synth: 'synth',
  initModel: 'model.init',
  loadModel: 'model.load',
  import: 'model.import',
  export: 'export.trl',
  sft: 'train.sft',
  dpo: 'train.dpo',
  ttt: 'ttt',
  evaluate: 'eval',
  compare: 'eval.compare',
  generate: 'generate',
} as const;

/**
 * The tested statistics, as cells call them (`wb.stats.mcnemar(lost, gained)`), so that a
 * notebook's p-values and intervals are the ones `finemed compare` and the ladder report.
 */
export const WORKBENCH_STATS = {
  mcnemar: mcnemarExact,
  accuracyCI,
  bootstrapMean,
  comparePaired,
  bySubject,
  quantile,
  poolSeeds,
  spread,
} as const;

/** What a workbench needs from the notebook session that owns it. */
export interface WorkbenchHost {
  /** The kernel connection. */
  client: KernelClient;
  /** The notebook's folder on the kernel's machine (relative paths start there). */
  base?: string;
  /** The notebook's display name, so the kernel's job list can say who started a job. */
  notebook?: string;
  /** Jobs estimated above this many seconds wait for approval unless their artifact exists. */
  maxCostSeconds: number;
  /** Whether the user approved running the artifact `key` from `cell`. */
  isApproved(cell: number | undefined, key: string): boolean;
  /** Sees every job call as it is made (synchronously, within the calling cell's evaluation). */
  onJobCreated?(run: JobRun): void;
  /** Sees every state of every job call. */
  onJobState?(run: JobRun, state: JobState): void;
  /** Sees every job plan (seeds, input files) for the manifest. */
  onPlan?(cell: number | undefined, plan: JobPlan): void;
  /** Sees every file a cell reads. */
  onFile?(cell: number | undefined, file: InputFile): void;
  /** Sees a cell start (`run`) and stop (undefined) awaiting another job's result. */
  onAwait?(cell: number | undefined, run: JobRun | undefined): void;
}

/** Something that names an artifact: a ref, a job result, or a finished job state. */
export type ArtifactLike = ArtifactRef | JobOutcome | JobState;

/**
 * A job's parameters as a cell passes them: the kernel schema's input (the stage's knobs,
 * declared once in `train/knobs/`), where an artifact, at any depth, may also be an upstream
 * job's value or (within the cell) its run.
 */
export type JobParams<S extends z.ZodType> = {
  [K in keyof z.input<S>]: Upstreamed<z.input<S>[K]> | Exclude<ArtifactLike, ArtifactRef> | JobRun;
};

type Upstreamed<T> = T extends ArtifactRef
  ? T | Exclude<ArtifactLike, ArtifactRef> | JobRun
  : T extends Record<string, unknown>
    ? { [K in keyof T]: Upstreamed<T[K]> }
    : T;

/** The shared first stages' jobs, as {@link Workbench.sharedStages} starts them. */
export interface SharedStages {
  /** `wb.synth`: the synthesized dataset. */
  data: JobRun;
  /** `wb.initModel`: the untrained model and its tokenizer. */
  init: JobRun;
  /** `wb.sft` with packing on the textbook passages. */
  pretrained: JobRun;
  /** `wb.sft` on the common instructions, when asked for (`through: 'common'`). */
  common?: JobRun;
}

/**
 * The workbench API. Job methods return a {@link JobRun} at once: an async iterator of job
 * states that the notebook runtime follows, so dependents re-run on every progress step.
 * Pass a job's value (state or result) into the next job to chain them.
 */
export class Workbench {
  constructor(
    private readonly host: WorkbenchHost,
    /** The cell this instance works for, when bound to one. */
    readonly cell?: number,
  ) {}

  /** The tested statistics (see {@link WORKBENCH_STATS}). */
  readonly stats = WORKBENCH_STATS;

  /** The gain ladder's chart, table and formats (see {@link WORKBENCH_LADDER}). */
  readonly ladder = WORKBENCH_LADDER;

  /** The flagship's recipe for a preset (`tiny` or `demo`): each stage's settings. */
  recipe(size: string): Recipe {
    return recipe(size);
  }

  /** The parameters of the shared first stages' jobs for a preset and seed, from {@link recipe}. */
  sharedStageParams(size: string, seed: number): SharedStageParams {
    return sharedStageParams(size, seed);
  }

  /**
   * Starts the shared first stages as the flagship runs them (same parameters, so the same
   * artifacts): synthesis, model, pretraining and, `through: 'common'`, common-instruction
   * SFT. Each job waits for the one before; a cell declaring them shows each one's progress.
   */
  sharedStages(opts: {
    size: string;
    seed: number;
    through?: 'pretrain' | 'common';
  }): SharedStages {
    const params = sharedStageParams(opts.size, opts.seed);
    const data = this.synth(params.synth());
    const init = this.initModel(params.init(data));
    const pretrained = this.sft(params.pretrain(init, data));
    if (opts.through !== 'common') return { data, init, pretrained };
    return { data, init, pretrained, common: this.sft(params.common(pretrained, data)) };
  }

  /** The same workbench, bound to `cell` (its job calls and file reads are attributed to it). */
  forCell(cell: number): Workbench {
    return new Workbench(this.host, cell);
  }

  /** Runs any registered job by name. */
  run(job: string, params: unknown = {}): JobRun {
    const { host, cell } = this;
    const run = new JobRun(
      {
        client: host.client,
        base: host.base,
        notebook: host.notebook,
        cell,
        maxCostSeconds: host.maxCostSeconds,
        isApproved: (key) => host.isApproved(cell, key),
        onState: host.onJobState,
        onPlan: (_run, plan) => host.onPlan?.(cell, plan),
      },
      job,
      params,
    );
    host.onJobCreated?.(run);
    return run;
  }

  /** Synthesizes training and evaluation data (offline synthesizer or an LLM endpoint). */
  synth(params: unknown): JobRun {
    return this.run(WORKBENCH_JOBS.synth, params);
  }

  /** Initializes a fresh model from a config. */
  initModel(params: unknown): JobRun {
    return this.run(WORKBENCH_JOBS.initModel, params);
  }

  /** Loads a Hugging Face-style checkpoint folder as an artifact. */
  loadModel(params: unknown): JobRun {
    return this.run(WORKBENCH_JOBS.loadModel, params);
  }

  /**
   * Imports a checkpoint or PEFT adapter trained elsewhere (`{ from, base?, keepAdapter?, bundle? }`)
   * as a checkpoint artifact whose provenance names the export bundle that produced it.
   */
  import(params: unknown): JobRun {
    return this.run(WORKBENCH_JOBS.import, params);
  }

  /** Supervised fine-tuning. */
  sft(params: JobParams<typeof sftParams>): JobRun {
    return this.run(WORKBENCH_JOBS.sft, params);
  }

  /** Direct preference optimization against a frozen reference. */
  dpo(params: JobParams<typeof dpoParams>): JobRun {
    return this.run(WORKBENCH_JOBS.dpo, params);
  }

  /**
   * A training stage as a TRL + accelerate/DeepSpeed bundle for a GPU cluster
   * (`{stage: 'sft' | 'dpo', model, data, ...the stage's settings}`); `wb.import` brings the result back.
   */
  export(params: unknown): JobRun {
    return this.run(WORKBENCH_JOBS.export, params);
  }

  /** Test-time training on retrieved neighbours. */
  ttt(params: JobParams<typeof tttParams>): JobRun {
    return this.run(WORKBENCH_JOBS.ttt, params);
  }

  /** Evaluates a model on a benchmark. */
  evaluate(params: unknown): JobRun {
    return this.run(WORKBENCH_JOBS.evaluate, params);
  }

  /** Compares evaluations (paired significance, confidence intervals). */
  compare(params: unknown): JobRun {
    return this.run(WORKBENCH_JOBS.compare, params);
  }

  /** Generates text from a model. */
  generate(params: unknown): JobRun {
    return this.run(WORKBENCH_JOBS.generate, params);
  }

  /** The metadata of a finished artifact (files with hashes, recipe, summary), or null. */
  async artifact(of: ArtifactLike): Promise<ArtifactMeta | null> {
    return this.host.client.artifact(artifactRef(of));
  }

  /** Reads a text file (relative to the notebook's folder); the manifest records its hash. */
  async file(path: string): Promise<FileContent> {
    return this.recorded(await this.host.client.file(path, this.host.base));
  }

  /** Reads a file's bytes (relative to the notebook's folder); the manifest records its hash. */
  async fileBytes(path: string): Promise<Uint8Array> {
    const { base64, ...input } = await this.host.client.file(
      path,
      this.host.base,
      undefined,
      'base64',
    );
    this.host.onFile?.(this.cell, input);
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }

  /**
   * Reads a text file inside a finished artifact (a dataset's `eval_mcq.jsonl`, a TTT run's
   * `ttt_records.jsonl`); the manifest records its hash, as it does for files jobs read.
   */
  async artifactFile(of: ArtifactLike, name: string): Promise<FileContent> {
    return this.recorded(await this.host.client.file(name, undefined, artifactRef(of)));
  }

  private recorded(file: FileContent): FileContent {
    const { text: _text, ...input } = file;
    this.host.onFile?.(this.cell, input);
    return file;
  }

  /** The job types the kernel can run. */
  async jobs(): Promise<JobInfo[]> {
    return (await this.host.client.hello()).jobs;
  }

  /**
   * A job's result: waits for a running job, fails with a {@link WaitingError} for one that is
   * stale, waiting itself or cancelled (the cell shows it is waiting), and with the job's error
   * if it failed (an {@link UpstreamError} when another cell started it: the error is shown there).
   */
  async result(of: JobRun | JobState | JobOutcome): Promise<JobOutcome> {
    if (!(of instanceof JobRun) && !isJobState(of)) return of;
    let state = of instanceof JobRun ? of.current : of;
    const run = of instanceof JobRun ? of : runOf(state);
    if ((state.status === 'queued' || state.status === 'running') && run) {
      this.host.onAwait?.(this.cell, run);
      try {
        state = await run.finished;
      } catch {
        state = run.current;
      } finally {
        this.host.onAwait?.(this.cell, undefined);
      }
    }
    if (state.status === 'done' && state.result) return state.result;
    if (state.status === 'error') {
      const message = state.error ?? `${state.job} failed`;
      throw state.cell !== undefined && state.cell !== this.cell
        ? new UpstreamError(message, state.cell)
        : new Error(message);
    }
    const where = state.cell === undefined ? '' : ` in cell ${state.cell}`;
    throw new WaitingError(`${WAITING_PREFIX}${state.job}${where} (${state.status})`);
  }
}

/** The artifact a ref, result or finished job state names. */
export function artifactRef(of: ArtifactLike): ArtifactRef {
  if (isJobState(of)) {
    if (!of.result) throw new WaitingError(`${WAITING_PREFIX}${of.job} (${of.status})`);
    return of.result.artifact;
  }
  return 'artifact' in of ? of.artifact : { kind: of.kind, key: of.key };
}
