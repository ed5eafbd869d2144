// Browser-safe: what a session keeps per cell, and how a cell's state follows from it.
import { transpile } from '@observablehq/notebook-kit';
import type { CellDefinition, CellDisplay } from './define-cell.ts';
import { WAITING_PREFIX, type JobRun, type JobState } from './job-run.ts';
import { SUPPORTED_MODES, type Cell } from './notebook-file.ts';

/** Where a cell stands, as the UI shows it. */
export type CellState =
  | { kind: 'idle' }
  | { kind: 'running' }
  | { kind: 'waiting'; reason: string }
  | { kind: 'stale'; seconds: number; jobs: string[] }
  | { kind: 'error'; message: string }
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

/** A cell's state: running, then errors (waiting ones apart), then stale or waiting jobs, then done. */
export function cellStateOf(r: CellRecord): CellState {
  if (isBusy(r)) return { kind: 'running' };
  const error = r.errors.get(null) ?? [...r.errors.values()][0];
  if (error !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    return message.startsWith(WAITING_PREFIX)
      ? { kind: 'waiting', reason: message }
      : { kind: 'error', message };
  }
  const jobs = [...r.jobs.values()].map((j) => j.state);
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
    return {
      kind: 'waiting',
      reason: `${WAITING_PREFIX}${(waiting.waitingFor ?? []).join(', ')}`,
    };
  }
  return r.runs === 0 ? { kind: 'idle' } : { kind: 'done' };
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
    const body = new Function(`return (${t.body});`)() as CellDefinition['body'];
    return {
      id: cell.id,
      body,
      inputs: t.inputs ?? [],
      outputs: t.outputs ?? [],
      output: t.output,
      autodisplay: t.autodisplay ?? false,
    };
  } catch (error) {
    return failing(error);
  }
}
