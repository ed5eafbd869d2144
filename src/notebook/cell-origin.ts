// Browser-safe: which cell an error comes from, what a waiting cell waits on, and Run all's cost.
import { RuntimeError } from '@observablehq/runtime';
import { CancelledError } from '../core/errors.ts';
import type { CellRecord, StateContext } from './cell-record.ts';
import { recordErrorLocation } from './error-location.ts';
import { UpstreamError, WAITING_PREFIX } from './job-run.ts';

/** What Run all would start (see {@link runAllCost}). */
export interface RunAllCost {
  /** Jobs too costly to have started on their own, with their estimates in seconds. */
  stale: { cell: number; job: string; seconds: number }[];
  /** Jobs waiting on unfinished inputs (not estimated until those exist). */
  waiting: { cell: number; job: string }[];
  /** The stale jobs' estimated seconds, summed. */
  seconds: number;
}

/**
 * The stale jobs of the cells' latest evaluations (estimated; `seconds` is their sum) and the
 * jobs waiting on them, which are planned (and estimated) only once their inputs exist.
 */
export function runAllCost(records: Iterable<CellRecord>): RunAllCost {
  const stale: RunAllCost['stale'] = [];
  const waiting: RunAllCost['waiting'] = [];
  for (const r of records) {
    for (const { generation, state } of r.jobs.values()) {
      if (generation !== r.generation) continue;
      const entry = { cell: r.cell.id, job: state.job, seconds: state.estimate?.seconds ?? 0 };
      if (state.status === 'stale') stale.push(entry);
      else if (state.status === 'waiting') waiting.push({ cell: r.cell.id, job: state.job });
    }
  }
  return { stale, waiting, seconds: stale.reduce((sum, j) => sum + j.seconds, 0) };
}

/**
 * The cell each error comes from. The Observable runtime hands an input's failure to every
 * dependent, so without this each of them would show it as its own.
 */
export class ErrorOrigins implements StateContext {
  private readonly origins = new WeakMap<object, number>();

  constructor(
    /** The session's records, by cell id. */
    private readonly records: Map<number, CellRecord>,
    /** Whether the runtime resolves a name no cell defines (a builtin or a global). */
    private readonly resolvable: (name: string) => boolean = (name) => name in globalThis,
  ) {}

  /** A cell's record by id. */
  record(id: number): CellRecord | undefined {
    return this.records.get(id);
  }

  /** The cell whose code raised `error`, if known. */
  originOf(error: unknown): number | undefined {
    return isObject(error) ? this.origins.get(error) : undefined;
  }

  /** Marks what the cell's own body threw (with where in the source, when exact). */
  thrown(r: CellRecord, error: unknown, code: string): void {
    if (!isObject(error) || this.origins.has(error)) return;
    this.origins.set(error, r.cell.id);
    recordErrorLocation(error, r.cell.id, code, r.cell.value);
  }

  /**
   * Notes where an error a cell reports comes from. The runtime re-raises an input's error as
   * a new RuntimeError naming the input, which leads to the input's cell (a declaration's
   * outputs name the cell's own variable); any other error its body did not throw is its own
   * (a generator's, a failed job's).
   */
  reported(r: CellRecord, error: unknown): void {
    if (!isObject(error) || this.origins.has(error)) return;
    const input = error instanceof RuntimeError ? (error.input ?? '') : '';
    const up = r.names.includes(input)
      ? r
      : [...this.records.values()].find((o) => o.names.includes(input));
    const cause = up?.errors.get(null);
    this.origins.set(error, this.originOf(cause) ?? up?.cell.id ?? r.cell.id);
  }

  /**
   * The names `r` reads that no cell defines, when `error` is the runtime's rejection of one:
   * it gives an input that resolves to nothing (no cell, builtin or global) a RuntimeError
   * `X is not defined` naming X. A deleted cell's name and a typo reach it the same way (the
   * transpiler makes every free name an input), so both count; a ReferenceError the cell's own
   * code throws does not. The runtime reports the first such input only, so the rest are found
   * here.
   */
  missingNames(r: CellRecord, error: unknown): string[] {
    if (!(error instanceof RuntimeError) || error.input === undefined) return [];
    const input = error.input;
    if (error.message !== `${input} is not defined` || !r.inputs.includes(input)) return [];
    // The runtime's word stands for `input` even once a cell defines it again: until the cell
    // re-runs, this error is from before.
    const defined = (name: string): boolean =>
      [...this.records.values()].some((o) => o.names.includes(name));
    return r.inputs.filter((n) => n === input || (!defined(n) && !this.resolvable(n)));
  }

  /** Whether a failure is shown in the cell's output: only its own, not a wait or a cancel. */
  shownInOutput(r: CellRecord, error: unknown): boolean {
    if (isObject(error) && this.origins.get(error) !== r.cell.id) return false;
    if (error instanceof UpstreamError) return false;
    // A declaration's outputs fail with the cell's own error, under their own names.
    const own = error instanceof RuntimeError && r.names.includes(error.input ?? '');
    if (this.missingNames(r, own ? r.errors.get(null) : error).length > 0) return false;
    if (error instanceof CancelledError && r.state.kind === 'cancelled') return false;
    const message = error instanceof Error ? error.message : String(error);
    return !message.startsWith(WAITING_PREFIX);
  }

  /** The cell providing an input of `r` that has not settled well: busy, waiting or failed. */
  upstreamOf(r: CellRecord): CellRecord | undefined {
    for (const other of this.records.values()) {
      if (other === r || !other.names.some((n) => r.inputs.includes(n))) continue;
      const { kind } = other.state;
      if (kind !== 'done' && kind !== 'idle') return other;
    }
    return undefined;
  }
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}
