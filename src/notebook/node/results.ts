import { isJobState, type JobOutcome } from '../job-run.ts';
import type { ProgressEvent } from '../../core/progress.ts';
import { EXACT, withinTolerance, type Tolerance } from '../tolerance.ts';

/** One cell's entry in `results.json`. */
export interface CellResult {
  /** The cell id. */
  id: number;
  /** Its short label. */
  label: string;
  /** Its mode (js, md, ...). */
  mode: string;
  /** Its final state kind. */
  state: string;
  /** The tolerance it declares for `verify`, if any. */
  tolerance?: Tolerance;
  /** An expression cell's value (when serializable). */
  value?: unknown;
  /** A declaration cell's named values (the serializable ones). */
  outputs?: Record<string, unknown>;
  /** Its error message, when it failed. */
  error?: string;
}

/** The `results.json` of a run. */
export interface RunResults {
  /** Format marker. */
  format: 'finemed-results/1';
  /** The notebook that ran. */
  notebook: string;
  /** The preset it ran with. */
  preset: string;
  /** Every cell, in notebook order. */
  cells: CellResult[];
}

/** A value in `results.json` that `verify` found different. */
export interface Difference {
  /** The cell, e.g. `cell 3 (const acc = ...)`. */
  cell: string;
  /** Where in the cell's result, e.g. `outputs.acc.mean`. */
  path: string;
  /** What the recorded run had. */
  expected: unknown;
  /** What the re-run gave. */
  actual: unknown;
}

const MAX_DEPTH = 64;

/**
 * A cell value as JSON, keeping what a later run can reproduce: numbers (NaN and infinities
 * tagged), strings, tables as rows, job states without timings. DOM nodes, functions and
 * promises are left out (they are in the report instead); undefined means nothing is left.
 */
export function toResultJson(value: unknown, seen = new Set<object>(), depth = 0): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $number: String(value) };
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (typeof value !== 'object') return undefined;
  if (seen.has(value) || depth > MAX_DEPTH) return '[circular]';
  if (value instanceof Date) return { $date: value.toISOString() };
  if (value instanceof Error) return { $error: value.message };
  if (isOpaque(value)) return undefined;
  seen.add(value);
  try {
    const inner = (v: unknown): unknown => toResultJson(v, seen, depth + 1);
    if (isJobState(value)) {
      return pruned({
        job: value.job,
        status: value.status,
        result: value.result && inner(stableResult(value.result)),
        history: value.history.map(stableProgress),
        error: value.error,
      });
    }
    if (isTable(value)) return value.objects().map(inner);
    if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, inner);
    if (Array.isArray(value) || value instanceof Set)
      return [...value].map((v) => inner(v) ?? null);
    const entries = value instanceof Map ? [...value] : Object.entries(value);
    return pruned(Object.fromEntries(entries.map(([k, v]) => [String(k), inner(v)])));
  } finally {
    seen.delete(value);
  }
}

/** Compares a re-run's cells with the recorded ones; returns every difference and the count of numbers checked. */
export function compareResults(
  expected: RunResults,
  actual: RunResults,
): { differences: Difference[]; numbers: number } {
  const differences: Difference[] = [];
  let numbers = 0;
  const byId = new Map(actual.cells.map((c) => [c.id, c]));
  for (const cell of expected.cells) {
    const other = byId.get(cell.id);
    const name = cell.label;
    if (!other) {
      differences.push({ cell: name, path: '', expected: 'a cell', actual: 'no such cell' });
      continue;
    }
    const tolerance = cell.tolerance ?? EXACT;
    const walk = (a: unknown, b: unknown, path: string): void => {
      if (typeof a === 'number' && typeof b === 'number') {
        numbers++;
        if (!withinTolerance(a, b, tolerance))
          differences.push({ cell: name, path, expected: a, actual: b });
      } else if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
        a.forEach((item, i) => walk(item, b[i], `${path}[${i}]`));
      } else if (isRecord(a) && isRecord(b) && sameKeys(a, b)) {
        for (const key of Object.keys(a)) walk(a[key], b[key], path ? `${path}.${key}` : key);
      } else if (JSON.stringify(a) !== JSON.stringify(b)) {
        differences.push({ cell: name, path, expected: a, actual: b });
      }
    };
    walk(
      { value: cell.value, outputs: cell.outputs, error: cell.error },
      { value: other.value, outputs: other.outputs, error: other.error },
      '',
    );
  }
  return { differences, numbers };
}

/**
 * What a re-run must reproduce of a job's result: its summary. Whether it was reused, its
 * artifact key (which moves with the code version) and file hashes (files may hold timings)
 * are in the manifest instead.
 */
function stableResult(result: JobOutcome): Pick<JobOutcome, 'job' | 'summary' | 'seed'> {
  return { job: result.job, summary: result.summary, seed: result.seed };
}

/** A progress event without wall-clock figures. */
function stableProgress(event: ProgressEvent): Partial<ProgressEvent> {
  const { elapsed: _e, eta: _eta, rate: _rate, rateUnit: _unit, ...rest } = event;
  return rest;
}

function pruned(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

function isTable(value: object): value is { objects(): unknown[] } {
  const t = value as { objects?: unknown; numRows?: unknown };
  return typeof t.objects === 'function' && typeof t.numRows === 'function';
}

function isOpaque(value: object): boolean {
  return (
    (typeof Node !== 'undefined' && value instanceof Node) ||
    typeof (value as { then?: unknown }).then === 'function' ||
    typeof (value as { next?: unknown }).next === 'function'
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function sameKeys(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}
