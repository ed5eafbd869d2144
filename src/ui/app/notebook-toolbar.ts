import { h } from './dom.ts';
import { unfoldingForm } from './unfolding-form.ts';

/** What the notebook's toolbar asks of its notebook. */
export interface ToolbarActions {
  /** The notebook's title now. */
  title(): string;
  /** Rename the notebook (a new, non-empty title). */
  rename(title: string): void;
  undo(): void;
  redo(): void;
  /** Write the knobs' current values into the file as their defaults. */
  saveKnobs(): void;
  /** The notebook file's name (without its folder). */
  fileName(): string;
  /** Rename the file in its folder; rejects with a message the toolbar shows. */
  renameFile(name: string): Promise<void>;
}

/** What the toolbar's buttons can do right now. */
export interface ToolbarState {
  canUndo: boolean;
  canRedo: boolean;
  /** Whether any cell has knobs to save. */
  hasKnobs: boolean;
}

/**
 * The toolbar at the top of a notebook: its title, renamable in place (Enter or leaving the
 * field renames, Escape reverts), Undo, Redo, Save knob values and Rename file.
 */
export class NotebookToolbar {
  /** The toolbar's element. */
  readonly element: HTMLElement;
  private readonly titleInput: HTMLInputElement;
  private readonly undo: HTMLButtonElement;
  private readonly redo: HTMLButtonElement;
  private readonly saveKnobs: HTMLButtonElement;

  constructor(private readonly actions: ToolbarActions) {
    this.titleInput = this.titleField();
    const button = (name: string, text: string, title: string, onclick: () => void) =>
      h('button', { class: `notebook-${name}`, title, onclick }, text);
    this.undo = button('undo', 'Undo', 'Undo (Ctrl+Z)', () => actions.undo());
    this.redo = button('redo', 'Redo', 'Redo (Ctrl+Shift+Z)', () => actions.redo());
    this.saveKnobs = button(
      'save-knobs',
      'Save knob values',
      "Write the knobs' current values into the file as their defaults",
      () => actions.saveKnobs(),
    );
    this.element = h(
      'div',
      { class: 'notebook-toolbar' },
      this.titleInput,
      h('span', { class: 'notebook-toolbar-spacer' }),
      this.undo,
      this.redo,
      this.saveKnobs,
      unfoldingForm({
        className: 'rename-file',
        button: 'Rename file',
        title: "Rename the notebook's file in its folder",
        field: 'File name',
        submit: 'Rename',
        initial: () => actions.fileName(),
        act: (name) => actions.renameFile(name),
        failure: 'Could not rename',
      }),
    );
  }

  /** Enables the buttons that can act. */
  update(state: ToolbarState): void {
    this.undo.disabled = !state.canUndo;
    this.redo.disabled = !state.canRedo;
    this.saveKnobs.disabled = !state.hasKnobs;
  }

  /** Shows the notebook's title (after a rename, its undo, or a recovered draft). */
  showTitle(title: string): void {
    this.titleInput.value = title;
  }

  private titleField(): HTMLInputElement {
    const input = h('input', {
      class: 'notebook-title',
      type: 'text',
      'aria-label': 'Notebook title',
      title: 'Rename the notebook (Enter)',
      value: this.actions.title(),
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') input.blur();
      if (event.key === 'Escape') {
        input.value = this.actions.title();
        input.blur();
      }
    });
    input.addEventListener('change', () => {
      const title = input.value.trim();
      if (title && title !== this.actions.title()) this.actions.rename(title);
      else input.value = this.actions.title();
    });
    return input;
  }
}

/**
 * A keydown listener for Ctrl/Cmd+Z (undo), Ctrl/Cmd+Shift+Z and Ctrl+Y (redo), acting only
 * while `active()` and when focus is outside editors and fields, which undo their own text.
 */
export function undoKeys(
  active: () => boolean,
  undo: () => void,
  redo: () => void,
): (event: KeyboardEvent) => void {
  return (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || !active()) return;
    const target = event.target as Element | null;
    if (target?.closest?.('.cm-editor, input, textarea, select, [contenteditable]')) return;
    const key = event.key.toLowerCase();
    const isRedo = (key === 'z' && event.shiftKey) || (key === 'y' && !event.shiftKey);
    if (key !== 'z' && !isRedo) return;
    event.preventDefault();
    if (isRedo) redo();
    else undo();
  };
}
