// Browser-safe: a job call from a notebook cell, as an async iterator of states.
import { CancelledError } from '../core/errors.ts';
import type { ProgressEvent } from '../core/progress.ts';
import type { KernelClient, RunHandle } from '../kernel/client.ts';
import type {
  ArtifactRef,
  CostEstimate,
  JobEvent,
  JobPlan,
  JobResult,
} from '../kernel/protocol.ts';

/** Where a job call stands. `waiting`: an input job has not finished; `stale`: too costly to start unasked. */
export type JobStatusKind =
  'waiting' | 'stale' | 'queued' | 'running' | 'done' | 'error' | 'cancelled';

/** A finished job's result as a cell sees it (its progress is in the state's `history`). */
export type JobOutcome = Omit<JobResult, 'history'>;

/** One snapshot of a job call; a job cell's value is the latest. */
export interface JobState {
  /** Marks the object as a job state (for displays and result files). */
  type: 'finemed.job';
  /** The job's name. */
  job: string;
  /** Where it stands. */
  status: JobStatusKind;
  /** The cell that started it, when known. */
  cell?: number;
  /** The artifact it makes, once planned. */
  artifact?: ArtifactRef;
  /** Its estimated cost, once planned. */
  estimate?: CostEstimate;
  /** Place in the kernel's queue while queued. */
  position?: number;
  /** The latest progress event. */
  progress?: ProgressEvent;
  /** Every progress event so far (append-only, shared between snapshots of one run). */
  history: ProgressEvent[];
  /** The result, when done (its progress history is in `history`). */
  result?: JobOutcome;
  /** The error message, when failed. */
  error?: string;
  /** The unfinished input jobs, when waiting (or queued behind a job its own cell started). */
  waitingFor?: string[];
}

/** What a {@link JobRun} needs from its surroundings (the workbench of one cell). */
export interface JobRunHost {
  /** The kernel connection. */
  client: KernelClient;
  /** The folder relative paths are resolved against, on the kernel's machine. */
  base?: string;
  /** The cell that makes the call, if any. */
  cell?: number;
  /** The notebook's display name, sent with the run so the jobs panel can name it. */
  notebook?: string;
  /** Jobs estimated to cost more seconds than this are not started unless approved. */
  maxCostSeconds: number;
  /** Whether the user approved running the artifact with this key. */
  isApproved(key: string): boolean;
  /** Called when the run starts (before its first state) and with every state it reaches. */
  onState?(run: JobRun, state: JobState): void;
  /** Called with the plan, for manifests. */
  onPlan?(run: JobRun, plan: JobPlan): void;
}

/** Raised when a value is needed from a job that has not finished (or is stale). */
export class WaitingError extends Error {
  override name = 'WaitingError';
}

/** Raised where a cell needs the result of a job that failed in another cell (shown there, once). */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    message: string,
    /** The cell whose job failed. */
    readonly cell: number,
  ) {
    super(message);
  }
}

/** The prefix of every {@link WaitingError} message, which survives the runtime's re-wrapping. */
export const WAITING_PREFIX = 'waiting for ';

const runs = new WeakMap<JobState, JobRun>();
const FINAL: ReadonlySet<JobStatusKind> = new Set(['done', 'waiting', 'stale']);

/** True for a {@link JobState}. */
export function isJobState(value: unknown): value is JobState {
  return (value as JobState | null)?.type === 'finemed.job';
}

/** The run a state belongs to, while it is known. */
export function runOf(state: JobState): JobRun | undefined {
  return runs.get(state);
}

/**
 * A job call: starts at once, and as an async iterator yields a new {@link JobState} for each
 * change (coalesced: a slow reader gets the latest). The Observable runtime iterates it, so a
 * cell holding one re-renders on every progress step; ending the iteration detaches the job.
 */
export class JobRun implements AsyncIterableIterator<JobState> {
  /** Settles with the final state (done, waiting or stale), or rejects with the job's error. */
  readonly finished: Promise<JobState>;
  private state: JobState;
  private version = 0;
  private delivered = 0;
  private ended = false;
  private failure: Error | undefined;
  private readers: (() => void)[] = [];
  private handle: RunHandle | undefined;
  private settle!: { resolve(state: JobState): void; reject(error: Error): void };

  constructor(
    private readonly host: JobRunHost,
    readonly job: string,
    params: unknown,
  ) {
    this.state = { type: 'finemed.job', job, status: 'queued', history: [], cell: host.cell };
    this.finished = new Promise<JobState>((resolve, reject) => (this.settle = { resolve, reject }));
    this.finished.catch(() => undefined);
    void this.start(params);
  }

  /** The latest state. */
  get current(): JobState {
    return this.state;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<JobState>> {
    while (this.delivered === this.version && !this.failure && !this.isOver()) {
      await new Promise<void>((resolve) => this.readers.push(resolve));
    }
    if (this.delivered < this.version) {
      this.delivered = this.version;
      return { done: false, value: this.state };
    }
    if (this.failure) throw this.failure;
    return { done: true, value: undefined };
  }

  /** Ends the iteration (the cell was re-run or removed): the job is detached, not killed. */
  async return(): Promise<IteratorResult<JobState>> {
    if (!this.isOver()) {
      this.ended = true;
      void this.handle?.cancel(false).catch(() => undefined);
      this.settle.reject(new CancelledError(`${this.job}: superseded`));
      this.wake();
    }
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<JobState>> {
    await this.return();
    throw error;
  }

  /** Stops the job itself, for every watcher (the Cancel button). */
  async cancel(): Promise<void> {
    await this.handle?.cancel(true);
  }

  private isOver(): boolean {
    return this.ended || FINAL.has(this.state.status);
  }

  private async start(params: unknown): Promise<void> {
    try {
      const pending = new Set(runsIn(params));
      if (pending.size > 0) {
        const report = (): void =>
          this.update({ waitingFor: [...pending].map((run) => describe(run.current)) });
        report();
        // Each input that finishes leaves the list, so the line names what is still awaited.
        const settled = [...pending].map((run) =>
          run.finished.finally(() => {
            pending.delete(run);
            if (pending.size > 0 && !this.ended) report();
          }),
        );
        await Promise.allSettled(settled);
        if (this.ended) return;
      }
      const waitingFor: string[] = [];
      const resolved = resolveInputs(params, waitingFor);
      if (waitingFor.length > 0) return this.update({ status: 'waiting', waitingFor });
      const plan = await this.host.client.plan(this.job, resolved, this.host.base);
      if (this.ended) return;
      this.host.onPlan?.(this, plan);
      const { artifact, estimate } = plan;
      if (!plan.cached && !plan.running && estimate.seconds > this.host.maxCostSeconds) {
        if (!this.host.isApproved(artifact.key)) {
          return this.update({ status: 'stale', artifact, estimate });
        }
      }
      this.update({ status: 'queued', artifact, estimate, waitingFor: undefined });
      this.handle = this.host.client.run(this.job, resolved, {
        base: this.host.base,
        origin: this.host.notebook
          ? { notebook: this.host.notebook, cell: this.host.cell }
          : undefined,
        onEvent: (event) => this.onEvent(event),
      });
      const { history, ...result } = await this.handle.result;
      // The kernel's record is complete, also when the artifact was reused and nothing ran.
      this.state.history.splice(0, this.state.history.length, ...history);
      if (!this.ended) this.update({ status: 'done', result, progress: history.at(-1) });
    } catch (error) {
      if (this.ended) return;
      const failure = error instanceof Error ? error : new Error(String(error));
      if (!(failure instanceof CancelledError)) failure.message = `${this.job}: ${failure.message}`;
      this.failure = failure;
      this.state = {
        ...this.state,
        status: failure instanceof CancelledError ? 'cancelled' : 'error',
        error: failure.message,
      };
      runs.set(this.state, this);
      this.host.onState?.(this, this.state);
      this.settle.reject(failure);
      this.wake();
    }
  }

  private onEvent(event: JobEvent): void {
    if (this.ended) return;
    if (event.type === 'queued') this.update({ status: 'queued', position: event.position });
    else if (event.type === 'started') this.update({ status: 'running', position: undefined });
    else {
      this.state.history.push(event.event);
      this.update({ status: 'running', progress: event.event });
    }
  }

  private update(change: Partial<JobState>): void {
    this.state = { ...this.state, ...change };
    runs.set(this.state, this);
    this.version++;
    this.host.onState?.(this, this.state);
    if (FINAL.has(this.state.status)) this.settle.resolve(this.state);
    this.wake();
  }

  private wake(): void {
    for (const reader of this.readers.splice(0)) reader();
  }
}

/**
 * Replaces job states, results and runs in `params` by the artifacts they name, so a cell can
 * pass one job's value (or, within the cell, the job itself) straight into the next; unfinished
 * ones are listed in `waitingFor`.
 */
export function resolveInputs(params: unknown, waitingFor: string[]): unknown {
  if (params instanceof JobRun) return resolveInputs(params.current, waitingFor);
  if (isJobState(params)) {
    if (params.status === 'done' && params.result) return params.result.artifact;
    waitingFor.push(`${describe(params)} (${params.status})`);
    return null;
  }
  if (Array.isArray(params)) return params.map((item) => resolveInputs(item, waitingFor));
  if (isRecord(params)) {
    if (isJobResult(params)) return params.artifact;
    return Object.fromEntries(
      Object.entries(params).map(([k, item]) => [k, resolveInputs(item, waitingFor)]),
    );
  }
  return params;
}

function isJobResult(
  value: Record<string, unknown>,
): value is Record<string, unknown> & JobOutcome {
  return typeof value.job === 'string' && typeof value.reused === 'boolean' && 'artifact' in value;
}

/** The job runs in `params` (a cell chaining jobs it starts itself): the job waits for them. */
function runsIn(params: unknown): JobRun[] {
  if (params instanceof JobRun) return [params];
  if (Array.isArray(params)) return params.flatMap(runsIn);
  return isRecord(params) ? Object.values(params).flatMap(runsIn) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
  );
}

function describe(state: JobState): string {
  return state.cell === undefined ? state.job : `${state.job} in cell ${state.cell}`;
}
