// Browser-safe: what a session keeps per cell, and how a cell's state follows from it.
import { transpile } from '@observablehq/notebook-kit';
import type { CellDefinition, CellDisplay } from './define-cell.ts';
import { cellSourceUrl, errorLocation, locateSyntaxError } from './error-location.ts';
import { UpstreamError, WAITING_PREFIX, type JobRun, type JobState } from './job-run.ts';
import { SUPPORTED_MODES, type Cell } from './notebook-file.ts';

/** Where a cell stands, as the UI shows it. */
export type CellState =
  | { kind: 'idle' }
  | { kind: 'running' }
  /** Pending on something unfinished (an upstream cell or job); its previous output is kept. */
  | { kind: 'waiting'; reason: string; on?: number }
  | { kind: 'stale'; seconds: number; jobs: string[] }
  /** Its own code failed; `line`/`column` (from 1) locate it in the source when known. */
  | { kind: 'error'; message: string; line?: number; column?: number }
  /** An upstream cell failed or needs a name (said there, once). */
  | { kind: 'blocked'; on: number; reason: string }
  /**
   * It reads `names` that no cell defines (a deleted cell's, or a typo): nothing to compute
   * until a cell defines them; its previous output is kept.
   */
  | { kind: 'missing'; names: string[] }
  /** Its job was cancelled at `step` (the last progress); `checkpoint`: a re-run resumes there. */
  | { kind: 'cancelled'; job: string; step?: number; total?: number; checkpoint: boolean }
  | { kind: 'done' };

/** A session's record of one cell. */
export interface CellRecord {
  /** The cell as last defined. */
  cell: Cell;
  /** Its output element and runtime variables. */
  display: CellDisplay;
  /** Removes its variables from the runtime. */
  undefine: () => void;
  /** Evaluations so far. */
  runs: number;
  /** Incremented with each evaluation, so late news from an earlier one is recognised. */
  generation: number;
  /** The evaluation whose costly jobs the user approved. */
  approvedGeneration: number;
  /** Its variables that are computing (null: the cell itself). */
  pending: Set<string | null>;
  /** Whether its code is running (false while it is pending on its inputs). */
  computing: boolean;
  /** The job whose result its code awaits (`wb.result`), if any. */
  awaiting: JobRun | undefined;
  /** The names it reads, as last compiled. */
  inputs: string[];
  /** The runtime variables it defines: its own (its output, or `cell N`) and its declarations. */
  names: string[];
  /** Its variables' latest values. */
  values: Map<string | null, unknown>;
  /** Its variables' errors. */
  errors: Map<string | null, unknown>;
  /** The jobs its evaluations started, with the evaluation that started each. */
  jobs: Map<JobRun, { generation: number; state: JobState }>;
  /** Its state as last reported. */
  state: CellState;
  /** When its latest evaluation's code started. */
  startedAt: number;
  /** How long its latest evaluation took. */
  ms: number;
}

/** A fresh record for a cell that has not run. */
export function newRecord(cell: Cell, root: HTMLDivElement): CellRecord {
  return {
    cell,
    display: { root, expanded: [], variables: [] },
    undefine: () => undefined,
    runs: 0,
    generation: 0,
    approvedGeneration: -1,
    pending: new Set(),
    computing: false,
    awaiting: undefined,
    inputs: [],
    names: [],
    values: new Map(),
    errors: new Map(),
    jobs: new Map(),
    state: { kind: 'idle' },
    startedAt: 0,
    ms: 0,
  };
}

/** Whether a cell is computing or its latest evaluation has a job queued or running. */
export function isBusy(r: CellRecord): boolean {
  if (r.pending.size > 0) return true;
  for (const { generation, state } of r.jobs.values()) {
    if (generation === r.generation && (state.status === 'queued' || state.status === 'running')) {
      return true;
    }
  }
  return false;
}

/** What a cell's state depends on beyond its own record. */
export interface StateContext {
  /** The cell whose error this is, when another cell's code raised it. */
  originOf(error: unknown): number | undefined;
  /** The upstream cell an idle-pending cell waits on (one that is busy, waiting or failed). */
  upstreamOf(r: CellRecord): CellRecord | undefined;
  /** A cell's record by id. */
  record(id: number): CellRecord | undefined;
  /** The names `r` reads that no cell defines, when `error` is the runtime saying so (else none). */
  missingNames(r: CellRecord, error: unknown): string[];
}

/**
 * A cell's state: a cancelled job first (said once, with its step), then running or waiting
 * (pending on an upstream cell or job is waiting, not running), then errors (its own, or an
 * upstream's it is blocked by), then stale or waiting jobs, then done.
 */
export function cellStateOf(r: CellRecord, ctx: StateContext): CellState {
  const jobs = [...r.jobs.values()].map((j) => j.state);
  const cancelled = jobs.find((s) => s.status === 'cancelled');
  if (cancelled) {
    return {
      kind: 'cancelled',
      job: cancelled.job,
      step: cancelled.progress?.step,
      total: cancelled.progress?.total,
      checkpoint: /checkpoint saved/i.test(cancelled.error ?? ''),
    };
  }
  if (isBusy(r)) {
    if (jobs.some((s) => s.status === 'queued' || s.status === 'running'))
      return { kind: 'running' };
    if (r.awaiting) return waitingOnJob(r.awaiting.current);
    if (!r.computing) {
      const up = ctx.upstreamOf(r);
      if (up) return waitingOn(up);
    }
    return { kind: 'running' };
  }
  const error = r.errors.get(null) ?? [...r.errors.values()][0];
  if (error !== undefined) {
    const origin = ctx.originOf(error);
    const from = origin === undefined || origin === r.cell.id ? undefined : ctx.record(origin);
    if (from) return blockedBy(from);
    const names = ctx.missingNames(r, error);
    if (names.length > 0) return { kind: 'missing', names };
    return ownError(error);
  }
  const stale = jobs.filter((s) => s.status === 'stale');
  if (stale.length > 0) {
    return {
      kind: 'stale',
      seconds: stale.reduce((sum, s) => sum + (s.estimate?.seconds ?? 0), 0),
      jobs: stale.map((s) => s.job),
    };
  }
  const waiting = jobs.find((s) => s.status === 'waiting');
  if (waiting) {
    const reason = `${WAITING_PREFIX}${(waiting.waitingFor ?? []).join(', ')}`;
    const on = /\bin cell (\d+)\b/.exec(reason)?.[1];
    return { kind: 'waiting', reason, ...(on ? { on: Number(on) } : {}) };
  }
  return r.runs === 0 ? { kind: 'idle' } : { kind: 'done' };
}

/** Why a cell counts as failed in a headless run (its error, or names no cell defines), if it does. */
export function failureOf(s: CellState): string | undefined {
  if (s.kind === 'error') return s.message;
  if (s.kind === 'missing') return `needs ${listNames(s.names, '`')}, which no cell defines`;
  return undefined;
}

/** A failed cell's `error` field in results and manifests (none when it did not fail). */
export function failureField(view: { state: CellState }): { error?: string } {
  const error = failureOf(view.state);
  return error === undefined ? {} : { error };
}

/** `a`, `a and b`, `a, b and c`, each name between `quote`s. */
function listNames(names: string[], quote = ''): string {
  const quoted = names.map((n) => `${quote}${n}${quote}`);
  return quoted.length < 2
    ? quoted.join('')
    : `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}`;
}

function ownError(error: unknown): CellState {
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith(WAITING_PREFIX)) {
    const on = /\bin cell (\d+)\b/.exec(message)?.[1];
    return { kind: 'waiting', reason: message, ...(on ? { on: Number(on) } : {}) };
  }
  if (error instanceof UpstreamError) {
    return { kind: 'blocked', on: error.cell, reason: `waits on cell ${error.cell}, which failed` };
  }
  const at = errorLocation(error);
  return { kind: 'error', message, ...(at ? { line: at.line, column: at.column } : {}) };
}

/** The state of a cell whose input came from `from`, which failed, was cancelled or waits. */
function blockedBy(from: CellRecord): CellState {
  const s = from.state;
  if (s.kind === 'waiting' || s.kind === 'blocked') return s;
  if (s.kind === 'cancelled') return waitingOn(from);
  const which = s.kind === 'missing' ? `needs ${listNames(s.names)}` : 'failed';
  return {
    kind: 'blocked',
    on: from.cell.id,
    reason: `waits on cell ${from.cell.id}, which ${which}`,
  };
}

/** Waiting on an upstream cell: on the cell it waits on in turn, if any, so the cause is named. */
function waitingOn(up: CellRecord): CellState {
  const s = up.state;
  if ((s.kind === 'waiting' && s.on !== undefined) || s.kind === 'blocked') return s;
  if (s.kind === 'missing') return blockedBy(up);
  const job = [...up.jobs.values()].map((j) => j.state).find((j) => j.status !== 'done');
  const what = job ? `${job.job}, ${job.status}` : s.kind === 'idle' ? 'not run' : s.kind;
  return { kind: 'waiting', on: up.cell.id, reason: `waiting on cell ${up.cell.id} (${what})` };
}

function waitingOnJob(job: JobState): CellState {
  const where = job.cell === undefined ? job.job : `cell ${job.cell} (${job.job}, ${job.status})`;
  return {
    kind: 'waiting',
    reason: `waiting on ${where}`,
    ...(job.cell !== undefined ? { on: job.cell } : {}),
  };
}

/** Transpiles a cell; a cell that cannot run becomes one that throws why. */
export function compile(cell: Cell): CellDefinition {
  const failing = (error: unknown): CellDefinition => ({
    id: cell.id,
    body: () => {
      throw error;
    },
    inputs: [],
    outputs: [],
    autodisplay: true,
  });
  if (!SUPPORTED_MODES.has(cell.mode)) {
    return failing(new Error(`cell mode '${cell.mode}' is not supported by the workbench`));
  }
  try {
    const t = transpile(cell);
    // Named in stack traces, so a runtime error can be located in the cell's source.
    const code = `return (${t.body});\n//# sourceURL=${cellSourceUrl(cell.id)}`;
    const body = new Function(code)() as CellDefinition['body'];
    return {
      id: cell.id,
      body,
      code: t.body,
      inputs: t.inputs ?? [],
      outputs: t.outputs ?? [],
      output: t.output,
      autodisplay: t.autodisplay ?? false,
    };
  } catch (error) {
    return failing(locateSyntaxError(error));
  }
}
