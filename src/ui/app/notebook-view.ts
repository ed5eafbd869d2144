import {
  NotebookSession,
  cellLabel,
  formatNotebook,
  parseNotebook,
  type KernelClient,
  type Notebook,
} from '../../notebook/index.ts';
import type { OpenedNotebook } from '../server/notebooks.ts';
import { recoveryBar, runAllBar, trustBar } from './bars.ts';
import { enableCellDrop } from './cell-drag.ts';
import { CellList } from './cell-list.ts';
import { CellView, type CellActions } from './cell-view.ts';
import { h, replaceChildren } from './dom.ts';
import { NotebookDocument, type SaveStatus } from './document.ts';
import type { Step } from './history.ts';
import type { Host } from './host.ts';
import { KnobMemory } from './knob-memory.ts';
import { NotebookEdits } from './notebook-edits.ts';
import { NotebookToolbar, undoKeys } from './notebook-toolbar.ts';
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
  private readonly cells = new CellList((id) => this.cellView(id));
  private readonly bars = h('div', { class: 'notebook-bars' });
  private readonly edits: NotebookEdits;
  private readonly outline = new Outline(this.cells.element);
  private readonly knobs: KnobMemory;
  private readonly toolbar: NotebookToolbar;
  private undoBar: HTMLElement | undefined;
  private readonly onKey = undoKeys(
    () => this.element.isConnected,
    () => this.undo(),
    () => this.redo(),
  );

  constructor(private options: NotebookViewOptions) {
    const { opened } = options;
    this.notebook = parseNotebook(opened.text);
    this.edits = new NotebookEdits({
      notebook: () => this.notebook,
      apply: (step) => this.apply(step),
      changed: () => this.changed(),
    });
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
      rename: (title) => this.edits.rename(title),
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
          this.cells.element,
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
    enableCellDrop(this.cells.element, (id, index) => this.edits.move(id, index));
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
      const { element, answer } = runAllBar(cost);
      this.bars.appendChild(element);
      if (!(await answer)) return;
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
    this.edits.undo();
  }

  /** Redoes the latest undone edit. */
  redo(): void {
    this.edits.redo();
  }

  /** The notebook's text as the editors show it, committed or not. */
  text(): string {
    const cells = this.notebook.cells.map((cell) => {
      const view = this.cells.get(cell.id);
      return view ? { ...cell, value: view.text() } : cell;
    });
    return formatNotebook({ ...this.notebook, cells });
  }

  private render(): void {
    const drafts = new Map(this.cells.all().map((view) => [view.id, view.text()]));
    this.session?.dispose();
    this.session = new NotebookSession(this.notebook, {
      client: this.options.client,
      base: folderOf(this.document.path),
      notebook: this.document.path.slice(folderOf(this.document.path).length).replace(/^[\\/]/, ''),
      preset: this.options.preset,
    });
    this.notebook = this.session.notebook;
    this.cells.reset(this.notebook.cells.map((cell) => cell.id));
    for (const [id, text] of drafts) this.cells.get(id)?.setText(text);
    // An untrusted notebook shows all of its code, since none of it has run.
    if (!this.document.trusted) for (const view of this.cells.all()) view.showSource();
    this.session.on((event) => {
      if (event.type === 'state') this.cells.get(event.cell)?.show(event.state);
    });
    this.session.on((event) => {
      if (event.type !== 'value' || !this.cells.get(event.cell)) return;
      const { cell, root } = this.session.cell(event.cell);
      this.knobs.restore(cell, root);
    });
    if (this.document.trusted) this.session.start();
  }

  private cellView(id: number): CellView {
    const { cell, root } = this.session.cell(id);
    const view = new CellView(cell, root, this.cellActions());
    root.addEventListener('input', () => {
      if (this.cells.get(id) === view) this.knobs.remember(this.session.cell(id).cell, root);
    });
    return view;
  }

  private cellActions(): CellActions {
    const focus = (id: number): void => this.cells.get(id)?.focus();
    return {
      commit: (id, text) => this.edits.setValue(id, text),
      run: (id) => this.session.run(id),
      remove: (id) => {
        const cell = this.edits.remove(id);
        if (cell) this.offerUndo(`Deleted ${cellLabel(cell)}.`, 'Undo delete');
      },
      insert: (id, where) =>
        focus(this.edits.add('js', this.edits.indexOf(id) + (where === 'below' ? 1 : 0))),
      move: (id, by) => this.edits.moveBy(id, by),
      duplicate: (id) => this.edits.duplicate(id),
      setMode: (id, mode) => {
        this.edits.setMode(id, mode);
        focus(id);
      },
      draft: () => this.document.drafted(),
      save: () => void this.document.save(),
    };
  }

  /** Adds an empty cell at the end and puts the cursor in it. */
  private add(mode: 'js' | 'md'): void {
    this.cells.get(this.edits.add(mode))?.focus();
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
        this.cells.remove(step.id);
        break;
      case 'insert': {
        this.session.insert(step.cell, step.index, step.cell.id);
        const view = this.cells.insert(step.cell.id, step.index);
        if (!this.document.trusted) view.showSource();
        break;
      }
      case 'move':
        this.session.move(step.id, step.index);
        this.cells.move(step.id, step.index);
        break;
      case 'edit':
        this.session.edit(step.id, step.value);
        this.cells.get(step.id)?.setCommitted(step.value);
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
      canUndo: this.edits.canUndo,
      canRedo: this.edits.canRedo,
      hasKnobs: this.notebook.cells.some((c) => this.knobs.count(c) > 0),
    });
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
    this.edits.setCells(
      this.knobs.withCurrentDefaults(this.notebook.cells, (id) => this.session.cell(id).root),
    );
  }

  private showBars(opened: OpenedNotebook): void {
    const bars: HTMLElement[] = [];
    if (!opened.trusted) {
      bars.push(
        trustBar(async () => {
          await this.document.trust();
          for (const view of this.cells.all()) view.collapseProse();
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
    this.cells.reset([]);
    this.notebook = parseNotebook(text);
    this.render();
    this.toolbar.showTitle(this.notebook.title);
    // The recovered text is a draft over the file, not an edit to undo back from.
    this.edits.reset();
    this.updateControls();
    this.document.drafted();
  }
}

/** The folder of a file path (POSIX or Windows), where its relative paths start. */
function folderOf(path: string): string {
  return path.slice(0, Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')));
}
