import {
  NotebookSession,
  formatNotebook,
  parseNotebook,
  type KernelClient,
  type Notebook,
} from '../../notebook/index.ts';
import { formatDuration } from '../../core/progress.ts';
import type { OpenedNotebook } from '../server/notebooks.ts';
import { recoveryBar, trustBar } from './bars.ts';
import { CellView } from './cell-view.ts';
import { h, replaceChildren } from './dom.ts';
import { NotebookDocument, type SaveStatus } from './document.ts';
import type { Host } from './host.ts';

/** What a notebook view needs from the app around it. */
export interface NotebookViewOptions {
  /** The shell. */
  host: Host;
  /** The kernel connection. */
  client: KernelClient;
  /** The notebook as the host opened it. */
  opened: OpenedNotebook;
  /** The preset cells see as `preset`. */
  preset: string;
  /** Receives the file's save status. */
  onStatus(status: SaveStatus): void;
}

/**
 * An open notebook: its cells on a {@link NotebookSession}, the trust and recovery bars, and
 * the document that autosaves it. Nothing runs until the notebook is trusted.
 */
export class NotebookView {
  /** The view's element. */
  readonly element: HTMLElement;
  /** The file behind the view. */
  readonly document: NotebookDocument;
  private notebook: Notebook;
  private session!: NotebookSession;
  private views = new Map<number, CellView>();
  private readonly bars = h('div', { class: 'notebook-bars' });
  private readonly list = h('div', { class: 'cells' });

  constructor(private options: NotebookViewOptions) {
    const { opened } = options;
    this.notebook = parseNotebook(opened.text);
    this.document = new NotebookDocument(
      options.host,
      opened.path,
      opened.text,
      opened.sha256,
      opened.trusted,
      () => this.text(),
      options.onStatus,
    );
    this.element = h(
      'div',
      { class: 'notebook' },
      this.bars,
      this.list,
      h(
        'div',
        { class: 'add-cells' },
        h('button', { class: 'add-js', onclick: () => this.add('js') }, '+ JavaScript'),
        h('button', { class: 'add-md', onclick: () => this.add('md') }, '+ Markdown'),
      ),
    );
    this.render();
    this.showBars(opened);
  }

  /** The notebook's title. */
  get title(): string {
    return this.notebook.title;
  }

  /**
   * Runs every stale or failed cell, approving costly jobs. When that starts jobs, a bar first
   * states them and their estimated time, and nothing runs until the user confirms.
   */
  async runAll(): Promise<void> {
    // A second click while the bar asks leaves the question to the bar.
    if (!this.document.trusted || this.bars.querySelector('.run-all-bar')) return;
    const cost = this.session.runAllCost();
    if (cost.stale.length > 0) {
      const jobs = cost.stale.map((j) => j.job);
      const count = `${jobs.length} job${jobs.length === 1 ? '' : 's'}`;
      const more = cost.waiting.length
        ? `, then ${cost.waiting.length} waiting on them (${cost.waiting.map((j) => j.job).join(', ')})`
        : '';
      const message =
        `Run all will start ${count}, about ${formatDuration(cost.seconds)}: ${jobs.join(', ')}` +
        `${more}.`;
      const confirmed = await new Promise<boolean>((resolve) => {
        const bar: HTMLElement = h(
          'div',
          { class: 'bar run-all-bar', role: 'alert' },
          h('span', {}, message),
          h('button', { class: 'run-all-confirm', onclick: () => resolve(true) }, 'Run all'),
          h('button', { class: 'run-all-cancel', onclick: () => resolve(false) }, 'Cancel'),
        );
        this.bars.querySelector('.run-all-bar')?.remove();
        this.bars.appendChild(bar);
      });
      this.bars.querySelector('.run-all-bar')?.remove();
      if (!confirmed) return;
    }
    await this.session.runAll();
  }

  /** Cancels every job this notebook's cells are running or queueing (for every watcher). */
  async interrupt(): Promise<void> {
    const keys = new Set(
      this.session.cells
        .flatMap((c) => c.jobs)
        .filter((state) => state.status === 'queued' || state.status === 'running')
        .flatMap((state) => (state.artifact ? [state.artifact.key] : [])),
    );
    if (keys.size === 0) return;
    const executions = await this.options.client.status();
    await Promise.all(
      executions
        .filter((execution) => keys.has(execution.artifact.key))
        .map((execution) => this.options.client.cancel(execution.id)),
    );
  }

  /** Starts again on a fresh kernel connection (or another preset), keeping edits. */
  restart(client: KernelClient, preset = this.options.preset): void {
    this.options = { ...this.options, client, preset };
    this.render();
  }

  /** Stops the session (its jobs are detached). */
  dispose(): void {
    this.session.dispose();
  }

  /** The notebook's text as the editors show it, committed or not. */
  text(): string {
    const cells = this.notebook.cells.map((cell) => {
      const view = this.views.get(cell.id);
      return view ? { ...cell, value: view.text() } : cell;
    });
    return formatNotebook({ ...this.notebook, cells });
  }

  private render(): void {
    const drafts = new Map([...this.views].map(([id, view]) => [id, view.text()]));
    this.session?.dispose();
    this.session = new NotebookSession(this.notebook, {
      client: this.options.client,
      base: folderOf(this.document.path),
      notebook: this.document.path.slice(folderOf(this.document.path).length).replace(/^[\\/]/, ''),
      preset: this.options.preset,
    });
    this.notebook = this.session.notebook;
    this.views.clear();
    replaceChildren(this.list, ...this.notebook.cells.map((cell) => this.cellView(cell.id)));
    for (const [id, text] of drafts) this.views.get(id)?.setText(text);
    // An untrusted notebook shows all of its code, since none of it has run.
    if (!this.document.trusted) for (const view of this.views.values()) view.showSource();
    this.session.on((event) => {
      if (event.type === 'state') this.views.get(event.cell)?.show(event.state);
    });
    if (this.document.trusted) this.session.start();
  }

  private cellView(id: number): HTMLElement {
    const { cell, root } = this.session.cell(id);
    const view = new CellView(cell, root, {
      commit: (cellId, text) => {
        this.session.edit(cellId, text);
        this.document.committed();
      },
      run: (cellId) => this.session.run(cellId),
      remove: (cellId) => {
        this.session.remove(cellId);
        this.views.get(cellId)?.element.remove();
        this.views.delete(cellId);
        this.document.committed();
      },
      draft: () => this.document.drafted(),
      save: () => void this.document.save(),
    });
    this.views.set(id, view);
    return view.element;
  }

  private add(mode: 'js' | 'md'): void {
    const id = this.session.insert({ mode, value: '' });
    this.list.appendChild(this.cellView(id));
    this.views.get(id)?.focus();
    this.document.committed();
  }

  private showBars(opened: OpenedNotebook): void {
    const bars: HTMLElement[] = [];
    if (!opened.trusted) {
      bars.push(
        trustBar(async () => {
          await this.document.trust();
          for (const view of this.views.values()) view.collapseProse();
          this.session.start();
        }),
      );
    }
    const recovery = opened.recovery;
    if (recovery && recovery.text !== opened.text) {
      bars.push(
        recoveryBar(
          recovery,
          opened.sha256,
          () => this.restore(recovery.text),
          () => this.document.discardRecovery(),
        ),
      );
    }
    replaceChildren(this.bars, ...bars);
  }

  private restore(text: string): void {
    this.views.clear();
    this.notebook = parseNotebook(text);
    this.render();
    this.document.drafted();
  }
}

/** The folder of a file path (POSIX or Windows), where its relative paths start. */
function folderOf(path: string): string {
  return path.slice(0, Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')));
}
