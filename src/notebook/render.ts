// Browser-safe: how a job state looks in a cell's output.
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
      line(`${state.job}: queued${state.position ? ` (${state.position} ahead)` : ''}`);
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
