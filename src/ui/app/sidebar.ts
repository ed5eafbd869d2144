import type { NotebookEntry } from '../server/notebooks.ts';
import { h, replaceChildren } from './dom.ts';
import type { Host } from './host.ts';
import { unfoldingForm } from './unfolding-form.ts';

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
      unfoldingForm({
        className: 'new-notebook',
        button: 'New notebook',
        field: 'New notebook title',
        placeholder: 'Title',
        submit: 'Create',
        initial: () => '',
        act: async (title) => {
          const opened = await this.host.call('notebook.create', { title });
          this.open(opened.path);
        },
        failure: 'Could not create the notebook',
      }),
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
