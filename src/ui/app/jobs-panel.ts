import type { JobStatus, KernelClient, RunOrigin } from '../../notebook/index.ts';
import { formatDuration } from '../../core/progress.ts';
import { h, replaceChildren } from './dom.ts';

/** How often the panel asks the kernel what it is running. */
const POLL_MS = 400;

/**
 * The jobs panel: every job the kernel is running or holding, with the notebook and cell that
 * started it, a progress bar, step, loss, throughput, ETA and a Cancel button.
 */
export class JobsPanel {
  /** The panel's element. */
  readonly element: HTMLElement;
  private readonly list = h('div', { class: 'jobs-list' });
  private readonly empty = h('p', { class: 'jobs-empty' }, 'No jobs running.');
  private readonly rows = new Map<string, JobRow>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private client: KernelClient | undefined;

  /** `showCell` is called when the user picks the cell a job came from. */
  constructor(private readonly showCell: (notebook: string, cell: number) => void) {
    this.element = h(
      'aside',
      { class: 'jobs', 'aria-label': 'Jobs' },
      h('h2', {}, 'Jobs'),
      this.empty,
      this.list,
    );
  }

  /** Follows the jobs of the kernel behind `client` (after a restart, the new one). */
  watch(client: KernelClient): void {
    this.client = client;
    clearTimeout(this.timer);
    void this.poll();
  }

  private async poll(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      this.render(await client.status());
    } catch {
      // The connection is restarting; the next poll uses the new client.
    }
    if (client === this.client) this.timer = setTimeout(() => void this.poll(), POLL_MS);
  }

  private render(jobs: JobStatus[]): void {
    const live = new Set(jobs.map((job) => job.id));
    for (const [id, row] of this.rows) {
      if (!live.has(id)) {
        row.element.remove();
        this.rows.delete(id);
      }
    }
    // Rows are updated in place, so a Cancel button is never swapped out under the pointer.
    for (const job of jobs) {
      const row = this.rows.get(job.id) ?? this.addRow(job);
      update(row, job);
      this.showOrigin(row, job.origins);
    }
    this.empty.hidden = jobs.length > 0;
  }

  private addRow(job: JobStatus): JobRow {
    const row: JobRow = {
      element: h('div', { class: 'job', 'data-job-id': job.id, 'data-job': job.job }),
      state: h('span', { class: 'job-state' }),
      origin: h('div', { class: 'job-origin' }),
      originKey: '',
      bar: h('progress', {}),
      figures: h('div', { class: 'job-figures' }),
      message: h('div', { class: 'job-message' }),
    };
    row.element.append(
      h(
        'div',
        { class: 'job-head' },
        h('strong', {}, job.job),
        row.state,
        h(
          'button',
          {
            class: 'job-cancel',
            'aria-label': `Cancel ${job.job}`,
            title: 'Stop this job for everyone watching it',
            onclick: () => void this.client?.cancel(job.id),
          },
          'Cancel',
        ),
      ),
      row.origin,
      row.bar,
      row.figures,
      row.message,
    );
    this.list.appendChild(row.element);
    this.rows.set(job.id, row);
    return row;
  }

  /** Names the notebook and cell that started the job: "finemed-o1.html, cell 23". */
  private showOrigin(row: JobRow, origins: readonly RunOrigin[] = []): void {
    const key = JSON.stringify(origins);
    if (key === row.originKey) return;
    row.originKey = key;
    const [first] = origins;
    const more = origins.length > 1 ? ` (+${origins.length - 1} more)` : '';
    const { notebook, cell } = first ?? {};
    replaceChildren(
      row.origin,
      !first
        ? null
        : cell === undefined
          ? `${notebook}${more}`
          : [
              `${notebook}, `,
              h(
                'button',
                {
                  class: 'job-cell link-button',
                  title: `Scroll to cell ${cell} of ${notebook}`,
                  onclick: () => this.showCell(notebook!, cell),
                },
                `cell ${cell}`,
              ),
              more,
            ],
    );
  }
}

interface JobRow {
  element: HTMLElement;
  state: HTMLElement;
  origin: HTMLElement;
  /** The origins shown, so an unchanged list is not redrawn under the pointer. */
  originKey: string;
  bar: HTMLProgressElement;
  figures: HTMLElement;
  message: HTMLElement;
}

function update(row: JobRow, job: JobStatus): void {
  const p = job.progress;
  row.element.className = `job job-${job.state}`;
  row.state.textContent = p?.stage && p.stage !== job.job ? `${job.state}: ${p.stage}` : job.state;
  if (p?.total) {
    row.bar.max = p.total;
    row.bar.value = p.step;
  } else {
    row.bar.removeAttribute('value');
  }
  const figures: string[] = [];
  if (p) {
    figures.push(p.total ? `step ${p.step}/${p.total}` : `step ${p.step}`);
    if (p.loss !== undefined) figures.push(`loss ${p.loss.toFixed(4)}`);
    if (p.rate !== undefined)
      figures.push(`${Math.round(p.rate).toLocaleString('en-US')} ${p.rateUnit ?? 'items/s'}`);
    if (p.eta !== undefined) figures.push(`ETA ${formatDuration(p.eta)}`);
  }
  row.figures.textContent = figures.join(' · ');
  row.message.textContent = p?.message ?? '';
}
