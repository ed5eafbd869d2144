import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactStore, type Artifact, type ArtifactMeta } from '../core/artifacts.ts';
import type { Claim } from '../core/claim.ts';
import { CancelledError } from '../core/errors.ts';
import type { ProgressEvent } from '../core/progress.ts';
import { codeVersion } from '../core/version.ts';
import { WorkspacePolicy } from '../core/workspace.ts';
import type { JobDefinition } from './job.ts';
import { JobPlanner, type PreparedJob } from './planner.ts';
import {
  PROTOCOL_VERSION,
  type ArtifactRef,
  type FileEncoding,
  type FileReply,
  type JobEvent,
  type JobPlan,
  type JobResult,
  type JobStatus,
  type KernelInfo,
  type RunOptions,
  type RunOrigin,
} from './protocol.ts';
import { JobQueue, type QueueTicket } from './queue.ts';
import { runInWorker } from './worker.ts';

/** How a kernel is set up. */
export interface KernelOptions {
  /** Where artifacts live; defaults to the store in FINEMED_HOME. */
  store?: ArtifactStore;
  /** Job types to register. */
  jobs?: JobDefinition[];
  /** Heavy jobs running at once (default 1). */
  heavySlots?: number;
  /** Light jobs running at once (default 2). */
  lightSlots?: number;
  /** How long a cancelled job may take to stop before its worker is terminated (default 3 s). */
  cancelGraceMs?: number;
  /** How long a job nobody watches any more keeps running, in case a re-run re-attaches (default 1 s). */
  detachGraceMs?: number;
  /** The folder relative paths are resolved against when a request names none. */
  baseDir?: string;
  /**
   * What clients may read through `file` requests (default: `baseDir` and the store's folder).
   * Job inputs are not restricted by it: jobs return results, never a file's raw content.
   */
  workspace?: WorkspacePolicy;
}

/** One request's attachment to a job execution. */
export interface JobSubscription {
  /** Settles with the job's result, or its error (a `CancelledError` when stopped). */
  readonly result: Promise<JobResult>;
  /** Stops watching; `immediate` also stops the job at once for every watcher. */
  detach(immediate?: boolean): void;
}

interface Watcher {
  origin?: RunOrigin;
  onEvent(event: JobEvent): void;
  resolve(result: JobResult): void;
  reject(error: unknown): void;
}

interface Execution {
  id: string;
  slot: string;
  prepared: PreparedJob;
  watchers: Set<Watcher>;
  controller: AbortController;
  ticket?: QueueTicket;
  running: boolean;
  lastProgress?: ProgressEvent;
  detachTimer?: ReturnType<typeof setTimeout>;
  done: Promise<void>;
  markDone: () => void;
}

/**
 * Runs jobs for any number of clients: validates and keys each request, reuses finished
 * artifacts, shares one execution among every request for the same artifact, queues heavy
 * work one at a time, and runs every job in its own worker thread.
 */
export class Kernel {
  /** The artifact store every job writes into. */
  readonly store: ArtifactStore;
  private readonly planner: JobPlanner;
  private readonly executions = new Map<string, Execution>();
  private readonly queue: JobQueue;
  private readonly cancelGraceMs: number;
  private readonly detachGraceMs: number;
  private nextId = 1;

  constructor(options: KernelOptions = {}) {
    this.store = options.store ?? new ArtifactStore();
    this.queue = new JobQueue({
      heavy: options.heavySlots ?? 1,
      light: options.lightSlots ?? 2,
    });
    this.cancelGraceMs = options.cancelGraceMs ?? 3000;
    this.detachGraceMs = options.detachGraceMs ?? 1000;
    const baseDir = options.baseDir ?? process.cwd();
    const workspace =
      options.workspace ?? new WorkspacePolicy({ notebooksDir: baseDir, home: this.store.root });
    this.planner = new JobPlanner(this.store, baseDir, workspace);
    for (const def of options.jobs ?? []) this.register(def);
  }

  /** Adds a job type. */
  register(def: JobDefinition): void {
    this.planner.register(def);
  }

  /** The kernel's version and job types. */
  info(): KernelInfo {
    return {
      protocol: PROTOCOL_VERSION,
      codeVersion: codeVersion(),
      jobs: this.planner.jobs(),
    };
  }

  /** What running `job` with `params` would produce and cost, without running it. */
  async plan(job: string, params: unknown, base?: string): Promise<JobPlan> {
    const prepared = await this.planner.prepare(job, params, base);
    const cached = (await this.store.get(prepared.recipe.kind, prepared.key)) !== undefined;
    return {
      job,
      artifact: { kind: prepared.recipe.kind, key: prepared.key },
      cached,
      running: this.executions.has(`${prepared.recipe.kind}/${prepared.key}`),
      estimate: cached
        ? { seconds: 0, detail: 'already done' }
        : prepared.def.estimate(prepared.params, prepared.job),
      seed: prepared.job.seed,
      files: prepared.job.files,
    };
  }

  /**
   * Runs `job` (or reuses its artifact, or joins an execution already making it) and reports
   * each step to `onEvent`.
   */
  run(job: string, params: unknown, options: RunOptions = {}): JobSubscription {
    let execution: Execution | undefined;
    let detached = false;
    let watcher!: Watcher;
    const result = new Promise<JobResult>((resolve, reject) => {
      watcher = {
        ...(options.origin ? { origin: options.origin } : {}),
        onEvent: options.onEvent ?? (() => undefined),
        resolve,
        reject,
      };
    });
    // A detached caller stops listening; its rejection must not surface as unhandled.
    result.catch(() => undefined);
    void this.attach(job, params, options.base, watcher).then(
      (attached) => {
        execution = attached;
        if (detached && attached) this.leave(attached, watcher, false);
      },
      (error) => watcher.reject(error),
    );
    return {
      result,
      detach: (immediate = false) => {
        detached = true;
        watcher.reject(new CancelledError('detached from the job'));
        if (execution) this.leave(execution, watcher, immediate);
      },
    };
  }

  /** Stops an execution (by the id {@link status} lists) for every watcher; false if unknown. */
  cancel(executionId: string): boolean {
    const execution = [...this.executions.values()].find((e) => e.id === executionId);
    if (!execution) return false;
    this.stop(execution);
    return true;
  }

  /**
   * Reads a file for a client under the workspace policy, with its hash (inside `artifact` when
   * given): as text, or as base64 bytes.
   */
  readFile<E extends FileEncoding = 'utf8'>(
    path: string,
    base?: string,
    artifact?: ArtifactRef,
    encoding?: E,
  ): Promise<FileReply<E>> {
    // The planner reads in the encoding asked for, so its answer is E's kind of reply.
    return this.planner.readFile(path, base, artifact, encoding ?? 'utf8') as Promise<FileReply<E>>;
  }

  /** A finished artifact's metadata, or null. */
  async artifact(ref: ArtifactRef): Promise<ArtifactMeta | null> {
    return (await this.store.get(ref.kind, ref.key))?.meta ?? null;
  }

  /** Every queued or running execution. */
  status(): JobStatus[] {
    return [...this.executions.values()].map((e) => ({
      id: e.id,
      job: e.prepared.def.name,
      artifact: { kind: e.prepared.recipe.kind, key: e.prepared.key },
      state: e.running ? 'running' : 'queued',
      ...(e.lastProgress ? { progress: e.lastProgress } : {}),
      subscribers: e.watchers.size,
      origins: [...e.watchers].flatMap((w) => (w.origin ? [w.origin] : [])),
    }));
  }

  /** Stops every execution and waits for their workers to end. */
  async close(): Promise<void> {
    const executions = [...this.executions.values()];
    for (const execution of executions) this.stop(execution);
    await Promise.all(executions.map((e) => e.done));
  }

  private async attach(
    job: string,
    params: unknown,
    base: string | undefined,
    watcher: Watcher,
  ): Promise<Execution | undefined> {
    const prepared = await this.planner.prepare(job, params, base);
    const slot = `${prepared.recipe.kind}/${prepared.key}`;
    const joined = this.join(slot, watcher);
    if (joined) return joined;
    const existing = await this.store.get(prepared.recipe.kind, prepared.key);
    if (existing) {
      watcher.resolve(await toResult(prepared, existing, true));
      return undefined;
    }
    // Another request may have started the same artifact while we looked in the store.
    return this.join(slot, watcher) ?? this.launch(slot, prepared, watcher);
  }

  private join(slot: string, watcher: Watcher): Execution | undefined {
    const execution = this.executions.get(slot);
    if (!execution) return undefined;
    clearTimeout(execution.detachTimer);
    execution.watchers.add(watcher);
    if (execution.running) {
      watcher.onEvent({ type: 'started' });
      if (execution.lastProgress)
        watcher.onEvent({ type: 'progress', event: execution.lastProgress });
    } else {
      watcher.onEvent({ type: 'queued', position: execution.ticket?.position() ?? 0 });
    }
    return execution;
  }

  private launch(slot: string, prepared: PreparedJob, watcher: Watcher): Execution {
    let markDone!: () => void;
    const done = new Promise<void>((resolve) => (markDone = resolve));
    const execution: Execution = {
      id: `x${this.nextId++}`,
      slot,
      prepared,
      watchers: new Set([watcher]),
      controller: new AbortController(),
      running: false,
      done,
      markDone,
    };
    this.executions.set(slot, execution);
    execution.ticket = this.queue.enqueue(prepared.def.weight, () =>
      this.execute(execution).finally(markDone),
    );
    if (!execution.ticket.started) {
      this.broadcast(execution, { type: 'queued', position: execution.ticket.position() });
    }
    return execution;
  }

  private async execute(execution: Execution): Promise<void> {
    const { prepared } = execution;
    execution.running = true;
    this.broadcast(execution, { type: 'started' });
    const history: ProgressEvent[] = [];
    const workDir = this.store.workDir(prepared.recipe.kind, prepared.key);
    // Owned while the job runs so that a sweep from any process keeps it; a cancelled job's
    // checkpoints outlive the claim for a re-run to resume from.
    const work: { claim?: Claim } = {};
    try {
      const artifact = await this.store.getOrCreate(prepared.recipe, async (dir) => {
        work.claim = await this.store.claimWork(prepared.recipe.kind, prepared.key);
        const summary = await runInWorker(
          {
            module: prepared.def.module,
            exportName: prepared.def.exportName ?? 'run',
            params: prepared.params,
            dir,
            workDir,
            seed: prepared.job.seed,
            storeRoot: this.store.root,
            base: prepared.base,
          },
          {
            signal: execution.controller.signal,
            graceMs: this.cancelGraceMs,
            onProgress: (event) => {
              history.push(event);
              execution.lastProgress = event;
              this.broadcast(execution, { type: 'progress', event });
            },
          },
        );
        if (history.length > 0) await writeFile(join(dir, PROGRESS_FILE), JSON.stringify(history));
        return summary;
      });
      await rm(workDir, { recursive: true, force: true });
      await work.claim?.release();
      const result = await toResult(prepared, artifact, artifact.reused);
      this.settle(execution, (w) => w.resolve(result));
    } catch (error) {
      await work.claim?.release();
      this.settle(execution, (w) => w.reject(error));
    }
  }

  private broadcast(execution: Execution, event: JobEvent): void {
    for (const watcher of execution.watchers) watcher.onEvent(event);
  }

  private settle(execution: Execution, outcome: (watcher: Watcher) => void): void {
    clearTimeout(execution.detachTimer);
    this.executions.delete(execution.slot);
    for (const watcher of execution.watchers) outcome(watcher);
    execution.watchers.clear();
  }

  private leave(execution: Execution, watcher: Watcher, immediate: boolean): void {
    execution.watchers.delete(watcher);
    if (immediate) this.stop(execution);
    else if (execution.watchers.size === 0) {
      clearTimeout(execution.detachTimer);
      execution.detachTimer = setTimeout(() => {
        if (execution.watchers.size === 0) this.stop(execution);
      }, this.detachGraceMs);
    }
  }

  private stop(execution: Execution): void {
    if (execution.ticket?.cancel()) {
      this.settle(execution, (w) =>
        w.reject(new CancelledError('job cancelled before it started')),
      );
      execution.markDone();
    } else {
      execution.controller.abort(new CancelledError('job cancelled'));
    }
  }
}

/** The file beside a job's artifact that keeps its progress events. */
const PROGRESS_FILE = 'progress.json';

async function toResult(
  prepared: PreparedJob,
  artifact: Artifact,
  reused: boolean,
): Promise<JobResult> {
  const recorded = artifact.meta.files.some((f) => f.name === PROGRESS_FILE);
  const history = recorded
    ? (JSON.parse(await readFile(join(artifact.dir, PROGRESS_FILE), 'utf8')) as ProgressEvent[])
    : [];
  return {
    history,
    job: prepared.def.name,
    artifact: { kind: artifact.meta.kind, key: artifact.meta.key },
    reused,
    summary: artifact.meta.summary ?? null,
    files: artifact.meta.files,
    seed: prepared.job.seed,
    inputs: prepared.job.files,
  };
}
