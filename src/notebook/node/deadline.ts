import type { CellView, NotebookSession } from '../session.ts';

/** Cells still at work when a headless run's time ran out. */
export interface TimedOut {
  /** The time limit, in seconds. */
  seconds: number;
  /** The cells computing, waiting or still producing values (a generator) at the deadline. */
  cells: number[];
}

/** Cell states in which a cell has stopped working. */
const FINISHED = new Set(['done', 'error', 'blocked', 'missing', 'cancelled', 'stale']);

/** Longest quiet spell after which a cell no longer counts as producing values at the deadline. */
const RECENT_MS = 1000;

/**
 * Waits until the session settles, or until `timeoutMs` passes (a cell whose generator never
 * ends, like one reading `now`, never lets a notebook settle). Resolves null when it settled,
 * or with the cells still at work at the deadline: those not finished, and those whose latest
 * value or state came within the last second (or the last half of a shorter limit). Rejects
 * when `signal` aborts.
 */
export async function settleWithin(
  session: NotebookSession,
  timeoutMs: number | undefined,
  signal?: AbortSignal,
): Promise<TimedOut | null> {
  if (timeoutMs === undefined) {
    await session.settled(signal);
    return null;
  }
  const lastEvent = new Map<number, number>();
  const off = session.on((event) => lastEvent.set(event.cell, performance.now()));
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    await session.settled(signal ? AbortSignal.any([signal, deadline]) : deadline);
    return null;
  } catch (error) {
    if (signal?.aborted || !deadline.aborted) throw error;
    const recent = performance.now() - Math.min(RECENT_MS, timeoutMs / 2);
    const cells = session.cells
      .filter(
        (view) =>
          !FINISHED.has(view.state.kind) || (lastEvent.get(view.cell.id) ?? -Infinity) >= recent,
      )
      .map((view) => view.cell.id);
    return { seconds: timeoutMs / 1000, cells };
  } finally {
    off();
  }
}

/** The views with every cell still at work at the deadline shown as failed by the time limit. */
export function withTimeouts(views: CellView[], timedOut: TimedOut | null): CellView[] {
  if (!timedOut) return views;
  const message = `still running after the ${timedOut.seconds} s time limit (--timeout)`;
  return views.map((view) =>
    timedOut.cells.includes(view.cell.id) ? { ...view, state: { kind: 'error', message } } : view,
  );
}
