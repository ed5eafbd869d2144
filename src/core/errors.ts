/** Where in a user's input a problem was found. */
export interface ErrorLocation {
  /** The file at fault. */
  file?: string;
  /** 1-based line number within `file` (JSONL rows, CSV records, notebook lines). */
  line?: number;
  /** The field, key, tensor or option at fault (e.g. `options.B`, `model.layers.0.q_proj.weight`). */
  field?: string;
}

/**
 * An error caused by the user's input (a file, a flag, a config field), as opposed to a bug.
 * The message always says where: `file:line: field: reason`.
 */
export class InputError extends Error {
  override name = 'InputError';
  /** The file at fault, if any. */
  readonly file?: string;
  /** 1-based line at fault, if any. */
  readonly line?: number;
  /** The field at fault, if any. */
  readonly field?: string;
  /** The reason alone, without the location prefix. */
  readonly reason: string;

  constructor(reason: string, where: ErrorLocation = {}, options?: ErrorOptions) {
    super(formatLocated(reason, where), options);
    this.reason = reason;
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
  }
}

/**
 * A request the workspace policy refuses: a notebook saved outside the notebooks folder, a file
 * read outside the folders cells may read, a symlink that leads out of them. Servers answer 403.
 */
export class AccessError extends InputError {
  override name = 'AccessError';
}

/** A bad command line: an unknown command, flag or flag value. The CLI exits 2 on it. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A job that stopped because the user asked it to. */
export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor(message = 'cancelled') {
    super(message);
  }
}

/**
 * The error a run stopped through `signal` throws: the reason it was aborted with when that is
 * an error of its own, else a CancelledError (a bare `abort()` leaves a DOMException named
 * AbortError, which no caller checks for).
 */
export function cancellation(signal: AbortSignal, message = 'cancelled'): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name !== 'AbortError'
    ? reason
    : new CancelledError(message);
}

/** Throws `cancellation(signal, message)` once `signal` is aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, message?: string): void {
  if (signal?.aborted) throw cancellation(signal, message);
}

/** Formats `file:line: field: reason`, leaving out the parts that are unknown. */
export function formatLocated(reason: string, where: ErrorLocation): string {
  const place = [where.file, where.line].filter((p) => p !== undefined).join(':');
  const prefix = [place, where.field].filter((p) => p !== undefined && p !== '').join(': ');
  return prefix ? `${prefix}: ${reason}` : reason;
}
