import { formatDuration } from '../../core/progress.ts';
import type { Cell, CellState } from '../../notebook/index.ts';
import { h, replaceChildren } from './dom.ts';
import { createCellEditor, type CellEditor } from './editor.ts';

/** What a cell view asks of its notebook. */
export interface CellActions {
  /** Commit `text` as the cell's source and run it, approving its jobs (Shift+Enter). */
  commit(id: number, text: string): void;
  /** Run the cell now, approving its costly jobs (the Run button). */
  run(id: number): void;
  /** Delete the cell. */
  remove(id: number): void;
  /** Add an empty cell of the same kind as this one just above or below it. */
  insert(id: number, where: 'above' | 'below'): void;
  /** Move the cell one place up (-1) or down (+1). */
  move(id: number, by: -1 | 1): void;
  /** Add a copy of the cell below it. */
  duplicate(id: number): void;
  /** Change the cell's mode (JavaScript, Markdown...). */
  setMode(id: number, mode: Cell['mode']): void;
  /** The editor's text changed without being committed. */
  draft(id: number, text: string): void;
  /** Save the notebook (Mod+S). */
  save(): void;
}

/** The modes a cell can be switched to, by name. */
const MODE_NAMES: Partial<Record<Cell['mode'], string>> = { js: 'JavaScript', md: 'Markdown' };

/** The drag data type of a cell being reordered (its id). */
export const CELL_DRAG_TYPE = 'application/x-finemed-cell';

const STATE_LABELS: Record<CellState['kind'], string> = {
  idle: 'not run',
  running: 'running',
  waiting: 'waiting',
  stale: 'stale',
  error: 'error',
  blocked: 'waiting',
  missing: 'needs a name',
  cancelled: 'cancelled',
  done: 'done',
};

/**
 * One cell: its output (rendered by the notebook runtime into `output`), a status line with
 * the cell's state and a Run button, and its CodeMirror editor. Markdown and HTML cells show
 * their output and hide their source until asked.
 */
export class CellView {
  /** The cell's element. */
  readonly element: HTMLElement;
  private readonly editor: CellEditor;
  private readonly status: HTMLElement;
  private readonly badge: HTMLElement;
  private readonly source: HTMLElement;
  private committed: string;

  constructor(
    private readonly cell: Cell,
    output: HTMLElement,
    private readonly actions: CellActions,
  ) {
    this.committed = cell.value;
    this.editor = createCellEditor(cell.mode, cell.value, {
      run: (text) => this.commit(text),
      save: () => actions.save(),
      changed: (text) => {
        this.element.classList.toggle('cell-draft', text !== this.committed);
        actions.draft(cell.id, text);
      },
    });
    this.badge = h('span', { class: 'cell-badge' }, STATE_LABELS.idle);
    this.status = h('div', { class: 'cell-status' });
    this.source = h('div', { class: 'cell-source' }, this.editor.dom);
    this.element = h(
      'section',
      {
        class: `cell cell-${cell.mode} cell-idle`,
        'data-cell-id': cell.id,
      },
      h(
        'div',
        { class: 'cell-bar' },
        this.handle(),
        this.badge,
        this.modeSwitch(),
        h('span', { class: 'cell-spacer' }),
        h(
          'button',
          {
            class: 'cell-toggle',
            title: 'Show or hide the source',
            onclick: () => this.element.classList.toggle('cell-collapsed'),
          },
          'Source',
        ),
        h(
          'button',
          {
            class: 'cell-run',
            'aria-label': 'Run cell',
            title: 'Run this cell (Shift+Enter)',
            onclick: () => this.runNow(),
          },
          'Run',
        ),
        tool('cell-add-above', 'Add cell above', '+↑', () => actions.insert(cell.id, 'above')),
        tool('cell-add-below', 'Add cell below', '+↓', () => actions.insert(cell.id, 'below')),
        tool('cell-up', 'Move cell up', '↑', () => actions.move(cell.id, -1)),
        tool('cell-down', 'Move cell down', '↓', () => actions.move(cell.id, 1)),
        tool('cell-duplicate', 'Duplicate cell', '❏', () => actions.duplicate(cell.id)),
        tool('cell-delete', 'Delete cell', '✕', () => actions.remove(cell.id)),
      ),
      h('div', { class: 'cell-output' }, output),
      this.status,
      this.source,
    );
    this.collapseProse();
  }

  /** Hides the source of Markdown and HTML cells, whose output is the point. */
  collapseProse(): void {
    if (this.cell.mode === 'md' || this.cell.mode === 'html')
      this.element.classList.add('cell-collapsed');
  }

  /** The cell id. */
  get id(): number {
    return this.cell.id;
  }

  /** The editor's current text, committed or not. */
  text(): string {
    return this.editor.text();
  }

  /** Replaces the editor's text (recovered drafts). */
  setText(text: string): void {
    this.editor.setText(text);
  }

  /** Shows `text` as the committed source (an undone or redone edit). */
  setCommitted(text: string): void {
    this.committed = text;
    this.editor.setText(text);
    this.element.classList.remove('cell-draft');
  }

  /** Shows the source editor. */
  showSource(): void {
    this.element.classList.remove('cell-collapsed');
  }

  /** Focuses the editor, showing the source. */
  focus(): void {
    this.showSource();
    this.editor.focus();
  }

  /**
   * Shows the cell's state from the notebook session, each said once: an error in the output
   * (located in the editor), a wait or an upstream failure in the status line (the old output
   * kept, dimmed), a cancelled job with its step and a Resume button.
   */
  show(state: CellState): void {
    this.element.className = this.element.className.replace(
      /\bcell-(idle|running|waiting|stale|error|blocked|missing|cancelled|done)\b/,
      `cell-${state.kind}`,
    );
    this.badge.textContent = STATE_LABELS[state.kind];
    this.editor.markError(
      state.kind === 'error' && state.line !== undefined
        ? { line: state.line, column: state.column ?? 1, message: state.message }
        : undefined,
    );
    switch (state.kind) {
      case 'stale':
        replaceChildren(
          this.status,
          h(
            'span',
            {},
            `Not run: ${state.jobs.join(', ')} would take about ${formatDuration(state.seconds)}. `,
          ),
          h('button', { class: 'cell-run-stale', onclick: () => this.runNow() }, 'Run'),
        );
        break;
      case 'waiting':
      case 'blocked':
        replaceChildren(this.status, this.waitLine(state.reason, state.on));
        break;
      case 'missing':
        replaceChildren(this.status, missingLine(state.names));
        break;
      case 'cancelled': {
        const at = state.step === undefined ? '' : ` at step ${state.step}`;
        const saved = state.checkpoint ? ', checkpoint saved' : '';
        replaceChildren(
          this.status,
          h('span', {}, `${state.job}: cancelled${at}${saved}. `),
          h(
            'button',
            {
              class: 'cell-resume',
              title: state.checkpoint ? 'Run again from the checkpoint' : 'Run this cell again',
              onclick: () => this.actions.run(this.cell.id),
            },
            'Resume',
          ),
        );
        break;
      }
      default:
        replaceChildren(this.status);
    }
  }

  /** "waiting on cell 12 (...)" with the cell as a link that scrolls to it. */
  private waitLine(reason: string, on: number | undefined): HTMLElement {
    const label = on === undefined ? undefined : `cell ${on}`;
    const at = label === undefined ? -1 : reason.indexOf(label);
    if (label === undefined || at < 0) return h('span', {}, reason);
    const link = h(
      'button',
      {
        class: 'cell-wait-link',
        title: `Scroll to cell ${on}`,
        onclick: () => {
          const list = this.element.closest('.cells') ?? document;
          list.querySelector(`[data-cell-id="${on}"]`)?.scrollIntoView({ block: 'center' });
        },
      },
      label,
    );
    return h('span', {}, reason.slice(0, at), link, reason.slice(at + label.length));
  }

  /** The drag handle: the mouse's way to reorder (the move buttons are the keyboard's). */
  private handle(): HTMLElement {
    return h('span', {
      class: 'cell-handle',
      draggable: 'true',
      title: 'Drag to move this cell',
      'aria-hidden': 'true',
      ondragstart: (event: Event) => {
        const { dataTransfer } = event as DragEvent;
        if (!dataTransfer) return;
        dataTransfer.effectAllowed = 'move';
        dataTransfer.setData(CELL_DRAG_TYPE, String(this.cell.id));
        dataTransfer.setDragImage(this.element, 12, 12);
        this.element.classList.add('cell-dragging');
      },
      ondragend: () => this.element.classList.remove('cell-dragging'),
    });
  }

  private modeSwitch(): HTMLElement {
    const names = { ...MODE_NAMES, [this.cell.mode]: MODE_NAMES[this.cell.mode] ?? this.cell.mode };
    const select = h(
      'select',
      {
        class: 'cell-mode',
        'aria-label': 'Cell mode',
        title: 'What kind of cell this is',
        onchange: () => this.actions.setMode(this.cell.id, select.value as Cell['mode']),
      },
      ...Object.entries(names).map(([mode, name]) =>
        h('option', { value: mode, selected: mode === this.cell.mode }, name),
      ),
    );
    return select;
  }

  private commit(text: string): void {
    this.committed = text;
    this.element.classList.remove('cell-draft');
    this.actions.commit(this.cell.id, text);
  }

  private runNow(): void {
    // Committing an edit runs the cell as the user's own request, which approves its jobs.
    const text = this.editor.text();
    if (text !== this.committed) this.commit(text);
    else this.actions.run(this.cell.id);
  }
}

/** "needs `a` and `b`, which no cell defines", each name as code. */
function missingLine(names: string[]): HTMLElement {
  const parts = names.flatMap((name, i) => [
    i === 0 ? '' : i === names.length - 1 ? ' and ' : ', ',
    h('code', {}, name),
  ]);
  return h('span', {}, 'needs ', ...parts, ', which no cell defines');
}

/** A compact toolbar button whose accessible name says what it does. */
function tool(className: string, name: string, text: string, onclick: () => void): HTMLElement {
  return h('button', { class: className, 'aria-label': name, title: name, onclick }, text);
}
