import { defaultPinned, toCell } from '@observablehq/notebook-kit';
import {
  NotebookSession,
  cellLabel,
  formatNotebook,
  parseNotebook,
  type Cell,
  type KernelClient,
  type Notebook,
} from '../../notebook/index.ts';
import { formatDuration } from '../../core/progress.ts';
import type { OpenedNotebook } from '../server/notebooks.ts';
import { recoveryBar, trustBar } from './bars.ts';
import { enableCellDrop } from './cell-drag.ts';
import { CellView, type CellActions } from './cell-view.ts';
import { h, replaceChildren } from './dom.ts';
import { NotebookDocument, type SaveStatus } from './document.ts';
import { History, reconcile, snapshotOf, type NotebookSnapshot, type Step } from './history.ts';
import type { Host } from './host.ts';
import { KnobMemory } from './knob-memory.ts';
import { NotebookToolbar } from './notebook-toolbar.ts';
import { Outline } from './outline.ts';

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
  /** Hears the notebook's new title after a rename (or its undo). */
  onTitle?(title: string): void;
  /** Hears the file's new path after Rename file. */
  onRenamed?(path: string): void;
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
  private history: History;
  private readonly outline = new Outline(this.list);
  private readonly knobs: KnobMemory;
  private readonly toolbar: NotebookToolbar;
  private undoBar: HTMLElement | undefined;
  private readonly onKey = (event: KeyboardEvent): void => this.key(event);

  constructor(private options: NotebookViewOptions) {
    const { opened } = options;
    this.notebook = parseNotebook(opened.text);
    this.history = new History(snapshotOf(this.notebook));
    this.document = new NotebookDocument(
      options.host,
      opened.path,
      opened.text,
      opened.sha256,
      opened.trusted,
      () => this.text(),
      options.onStatus,
    );
    this.knobs = new KnobMemory(sessionStorage, () => this.document.path);
    this.toolbar = new NotebookToolbar({
      title: () => this.notebook.title,
      rename: (title) => this.change([...this.notebook.cells], title),
      undo: () => this.undo(),
      redo: () => this.redo(),
      saveKnobs: () => this.saveKnobs(),
      fileName: () => this.document.path.slice(folderOf(this.document.path).length + 1),
      renameFile: (name) => this.renameFile(name),
    });
    this.element = h(
      'div',
      { class: 'notebook' },
      this.toolbar.element,
      this.bars,
      h(
        'div',
        { class: 'notebook-body' },
        this.outline.element,
        h(
          'div',
          { class: 'notebook-cells' },
          this.list,
          h(
            'div',
            { class: 'add-cells' },
            h(
              'button',
              {
                class: 'add-js',
                'aria-label': 'Add JavaScript cell',
                onclick: () => this.add('js'),
              },
              '+ JavaScript',
            ),
            h(
              'button',
              { class: 'add-md', 'aria-label': 'Add Markdown cell', onclick: () => this.add('md') },
              '+ Markdown',
            ),
          ),
        ),
      ),
    );
    enableCellDrop(this.list, (id, index) => this.moveTo(id, index));
    window.addEventListener('keydown', this.onKey);
    this.render();
    this.showBars(opened);
    this.updateControls();
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
    this.outline.dispose();
    window.removeEventListener('keydown', this.onKey);
  }

  /** Undoes the latest structural edit (add, delete, move, duplicate, edit, rename). */
  undo(): void {
    const snapshot = this.history.undo();
    if (!snapshot) return;
    this.reach(snapshot);
    this.changed();
  }

  /** Redoes the latest undone edit. */
  redo(): void {
    const snapshot = this.history.redo();
    if (!snapshot) return;
    this.reach(snapshot);
    this.changed();
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
    this.session.on((event) => {
      if (event.type !== 'value' || !this.views.has(event.cell)) return;
      const { cell, root } = this.session.cell(event.cell);
      this.knobs.restore(cell, root);
    });
    if (this.document.trusted) this.session.start();
  }

  private cellView(id: number): HTMLElement {
    const { cell, root } = this.session.cell(id);
    const view = new CellView(cell, root, this.cellActions());
    root.addEventListener('input', () => {
      if (this.views.get(id) === view) this.knobs.remember(this.session.cell(id).cell, root);
    });
    this.views.set(id, view);
    return view.element;
  }

  private cellActions(): CellActions {
    const at = (id: number): number => this.notebook.cells.findIndex((c) => c.id === id);
    const cells = (): Cell[] => [...this.notebook.cells];
    return {
      commit: (id, text) =>
        this.change(cells().map((c) => (c.id === id ? { ...c, value: text } : c))),
      run: (id) => this.session.run(id),
      remove: (id) => {
        const cell = this.notebook.cells.find((c) => c.id === id);
        this.change(cells().filter((c) => c.id !== id));
        if (cell) this.offerUndo(`Deleted ${cellLabel(cell)}.`, 'Undo delete');
      },
      insert: (id, where) => this.add('js', at(id) + (where === 'below' ? 1 : 0)),
      move: (id, by) => this.moveTo(id, at(id) + by),
      duplicate: (id) => {
        const next = cells();
        next.splice(at(id) + 1, 0, toCell({ ...next[at(id)]!, id: this.nextId() }));
        this.change(next);
      },
      setMode: (id, mode) => {
        const next = cells();
        next[at(id)] = toCell({ ...next[at(id)]!, mode, pinned: defaultPinned(mode) });
        this.change(next);
        this.views.get(id)?.focus();
      },
      draft: () => this.document.drafted(),
      save: () => void this.document.save(),
    };
  }

  /** Adds an empty cell at `index` (default: the end) and puts the cursor in it. */
  private add(mode: 'js' | 'md', index = this.notebook.cells.length): void {
    const id = this.nextId();
    const next = [...this.notebook.cells];
    next.splice(index, 0, toCell({ id, mode, value: '' }));
    this.change(next);
    this.views.get(id)?.focus();
  }

  private nextId(): number {
    return Math.max(0, ...this.notebook.cells.map((c) => c.id)) + 1;
  }

  /** Moves a cell so it ends up at `index`; out of range does nothing (the first cell up). */
  private moveTo(id: number, index: number): void {
    const next = this.notebook.cells.filter((c) => c.id !== id);
    const cell = this.notebook.cells.find((c) => c.id === id);
    if (!cell || index < 0 || index > next.length) return;
    next.splice(index, 0, cell);
    this.change(next);
  }

  /** Makes an edit: the live notebook becomes `cells` (and `title`), undoably, autosaved. */
  private change(cells: Cell[], title = this.notebook.title): void {
    this.reach({ title, cells });
    this.history.record(snapshotOf(this.notebook));
    this.changed();
  }

  /** Brings the live notebook to `target` with the fewest steps. */
  private reach(target: NotebookSnapshot): void {
    for (const step of reconcile(snapshotOf(this.notebook), target)) this.apply(step);
  }

  private changed(): void {
    this.undoBar?.remove();
    this.undoBar = undefined;
    this.updateControls();
    this.document.committed();
  }

  private apply(step: Step): void {
    switch (step.kind) {
      case 'title':
        this.notebook.title = step.title;
        this.toolbar.showTitle(step.title);
        this.options.onTitle?.(step.title);
        break;
      case 'remove':
        this.session.remove(step.id);
        this.views.get(step.id)?.element.remove();
        this.views.delete(step.id);
        break;
      case 'insert': {
        this.session.insert(step.cell, step.index, step.cell.id);
        const element = this.cellView(step.cell.id);
        this.list.insertBefore(element, this.list.children[step.index] ?? null);
        if (!this.document.trusted) this.views.get(step.cell.id)?.showSource();
        break;
      }
      case 'move': {
        this.session.move(step.id, step.index);
        const element = this.views.get(step.id)!.element;
        element.remove();
        this.list.insertBefore(element, this.list.children[step.index] ?? null);
        break;
      }
      case 'edit':
        this.session.edit(step.id, step.value);
        this.views.get(step.id)?.setCommitted(step.value);
        break;
    }
  }

  /** Says what an edit did, with a way back, until the next edit (a delete is easy to miss). */
  private offerUndo(message: string, action: string): void {
    this.undoBar = h(
      'div',
      { class: 'bar undo-bar', role: 'status' },
      h('span', {}, message),
      h('button', { class: 'undo-bar-undo', onclick: () => this.undo() }, action),
    );
    this.bars.appendChild(this.undoBar);
  }

  private updateControls(): void {
    this.toolbar.update({
      canUndo: this.history.canUndo,
      canRedo: this.history.canRedo,
      hasKnobs: this.notebook.cells.some((c) => this.knobs.count(c) > 0),
    });
  }

  /** Ctrl/Cmd+Z, Ctrl/Cmd+Shift+Z and Ctrl+Y outside editors and fields (they undo text). */
  private key(event: KeyboardEvent): void {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || !this.element.isConnected) return;
    const target = event.target as Element | null;
    if (target?.closest?.('.cm-editor, input, textarea, select, [contenteditable]')) return;
    const key = event.key.toLowerCase();
    const redo = (key === 'z' && event.shiftKey) || (key === 'y' && !event.shiftKey);
    if (key !== 'z' && !redo) return;
    event.preventDefault();
    if (redo) this.redo();
    else this.undo();
  }

  /** Renames the file in its folder, after saving what is pending to the old path. */
  private async renameFile(name: string): Promise<void> {
    await this.document.save();
    const { path } = await this.options.host.call('notebook.rename', {
      path: this.document.path,
      name,
    });
    this.document.path = path;
    this.options.onRenamed?.(path);
  }

  /** Writes each knob's current value into its cell's source as the default (undoable). */
  private saveKnobs(): void {
    this.change(
      this.knobs.withCurrentDefaults(this.notebook.cells, (id) => this.session.cell(id).root),
    );
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
    this.toolbar.showTitle(this.notebook.title);
    // The recovered text is a draft over the file, not an edit to undo back from.
    this.history = new History(snapshotOf(this.notebook));
    this.updateControls();
    this.document.drafted();
  }
}

/** The folder of a file path (POSIX or Windows), where its relative paths start. */
function folderOf(path: string): string {
  return path.slice(0, Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')));
}
