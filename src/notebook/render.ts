// Browser-safe: how job states and tables look in a cell's output.
import { formatDuration, formatProgressLine } from '../core/progress.ts';
import type { JobState } from './job-run.ts';

/** A one-line view of a job state: a progress bar while it runs, its cost while stale. */
export function renderJobState(state: JobState, document: Document): HTMLElement {
  const root = document.createElement('div');
  root.className = `finemed-job finemed-job-${state.status}`;
  const line = (text: string): void => {
    const span = document.createElement('span');
    span.textContent = text;
    root.appendChild(span);
  };
  switch (state.status) {
    case 'stale':
      line(
        `${state.job}: not run: estimated ${formatDuration(state.estimate?.seconds ?? NaN)}` +
          `${state.estimate?.detail ? ` (${state.estimate.detail})` : ''}; run this cell to start it`,
      );
      break;
    case 'waiting':
      line(`${state.job}: waiting for ${(state.waitingFor ?? []).join(', ')}`);
      break;
    case 'queued':
      // Queued behind a job of the same cell, which it needs first (see `JobRun`).
      if (state.waitingFor?.length)
        line(`${state.job}: waiting for ${state.waitingFor.join(', ')}`);
      else line(`${state.job}: queued${state.position ? ` (${state.position} ahead)` : ''}`);
      break;
    case 'running': {
      const event = state.progress;
      if (event?.total) {
        const bar = document.createElement('progress');
        bar.max = event.total;
        bar.value = event.step;
        root.appendChild(bar);
      }
      line(event ? formatProgressLine(event) : `${state.job}: running`);
      break;
    }
    case 'done': {
      const result = state.result;
      const what = result ? `${result.artifact.kind} ${result.artifact.key.slice(0, 12)}` : '';
      line(`${state.job}: done${result?.reused ? ' (reused)' : ''} ${what}`);
      break;
    }
    default:
      line(`${state.job}: ${state.status}${state.error ? `: ${state.error}` : ''}`);
  }
  return root;
}

/** An arquero table (what `aq` makes and evaluation jobs return). */
export interface TableLike {
  /** Number of rows. */
  numRows(): number;
  /** The table as HTML. */
  toHTML(options?: { limit?: number }): string;
}

/** True for an arquero table. */
export function isTable(value: unknown): value is TableLike {
  const t = value as Partial<TableLike> | null;
  return typeof t?.toHTML === 'function' && typeof t?.numRows === 'function';
}

/** A table as an HTML table of its first rows and the row count (the inspector would show its internals). */
export function renderTable(table: TableLike, document: Document, limit = 50): HTMLElement {
  const root = document.createElement('div');
  root.className = 'finemed-table';
  root.innerHTML = table.toHTML({ limit });
  const rows = table.numRows();
  if (rows > limit) {
    const note = document.createElement('small');
    note.textContent = `${limit} of ${rows.toLocaleString('en-US')} rows`;
    root.appendChild(note);
  }
  return root;
}
