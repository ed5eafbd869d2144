import type { NotebookEntry } from '../server/notebooks.ts';
import { h, replaceChildren } from './dom.ts';
import type { Host } from './host.ts';

/**
 * The sidebar: the project's notebooks and recent files, a New notebook form, a way to open
 * another file (the native dialog in the desktop app, a path field in a browser), and the
 * artifacts view.
 */
export class Sidebar {
  /** The sidebar's element. */
  readonly element: HTMLElement;
  private readonly list = h('ul', { class: 'notebook-list' });

  /** `open` shows a notebook by path. */
  constructor(
    private readonly host: Host,
    private readonly open: (path: string) => void,
  ) {
    this.element = h(
      'nav',
      { class: 'sidebar', 'aria-label': 'Notebooks' },
      h('h2', {}, 'Notebooks'),
      this.newControl(),
      this.list,
      this.openControl(),
      h('h2', {}, 'Store'),
      h('a', { class: 'nav-artifacts', href: '#artifacts' }, 'Artifacts'),
    );
  }

  /** Reloads the list, marking `current` (the open notebook's path). */
  async refresh(current: string | undefined): Promise<void> {
    const entries = await this.host.call('notebooks.list', {});
    const item = (entry: NotebookEntry): HTMLElement =>
      h(
        'li',
        { class: entry.path === current ? 'current' : undefined },
        h(
          'button',
          {
            class: `notebook-link notebook-${entry.source}`,
            title: entry.path,
            'data-path': entry.path,
            onclick: () => this.open(entry.path),
          },
          entry.name,
        ),
      );
    replaceChildren(
      this.list,
      ...(entries.length ? entries.map(item) : [h('li', { class: 'muted' }, 'No notebooks yet.')]),
    );
  }

  /** Asks the shell's native dialog for a notebook and opens it. */
  async chooseAndOpen(): Promise<void> {
    const path = await this.host.chooseNotebook?.();
    if (path) this.open(path);
  }

  /** A "New notebook" button that unfolds into a title field (no window.prompt). */
  private newControl(): HTMLElement {
    const slot = h('div', { class: 'new-notebook-slot' });
    const button = h(
      'button',
      { class: 'new-notebook', type: 'button', onclick: () => showForm() },
      'New notebook',
    );
    const input = h('input', {
      class: 'new-notebook-title',
      type: 'text',
      required: true,
      maxlength: 200,
      'aria-label': 'New notebook title',
      placeholder: 'Title',
    });
    const error = h('div', { class: 'new-notebook-error', role: 'alert', hidden: true });
    const close = (): void => {
      replaceChildren(slot, button);
      button.focus();
    };
    const form = h(
      'form',
      {
        class: 'new-notebook-form',
        onsubmit: (event: Event) => {
          event.preventDefault();
          void this.create(input.value.trim(), error);
        },
        onkeydown: (event: Event) => {
          if ((event as KeyboardEvent).key === 'Escape') close();
        },
      },
      input,
      h('button', { type: 'submit' }, 'Create'),
      h('button', { type: 'button', onclick: close }, 'Cancel'),
      error,
    );
    const showForm = (): void => {
      input.value = '';
      error.hidden = true;
      replaceChildren(slot, form);
      input.focus();
    };
    replaceChildren(slot, button);
    return slot;
  }

  private async create(title: string, error: HTMLElement): Promise<void> {
    if (!title) return;
    try {
      const opened = await this.host.call('notebook.create', { title });
      error.hidden = true;
      this.open(opened.path);
    } catch (caught) {
      error.textContent = `Could not create the notebook: ${(caught as Error).message}`;
      error.hidden = false;
    }
  }

  private openControl(): HTMLElement {
    if (this.host.chooseNotebook) {
      return h(
        'button',
        { class: 'open-file', onclick: () => void this.chooseAndOpen() },
        'Open file…',
      );
    }
    const input = h('input', {
      class: 'open-path',
      type: 'text',
      placeholder: '/path/to/notebook.html',
      'aria-label': 'Notebook path',
    });
    return h(
      'form',
      {
        class: 'open-form',
        onsubmit: (event: Event) => {
          event.preventDefault();
          if (input.value.trim()) this.open(input.value.trim());
        },
      },
      input,
      h('button', { type: 'submit' }, 'Open'),
    );
  }
}
