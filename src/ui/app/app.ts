import { NOT_FOR_CLINICAL_USE } from '../../data/notice.ts';
import { KernelClient, PRESETS } from '../../notebook/index.ts';
import { ArtifactsView } from './artifacts-view.ts';
import { h, replaceChildren } from './dom.ts';
import type { SaveStatus } from './document.ts';
import type { AppCommand, Host } from './host.ts';
import { JobsPanel } from './jobs-panel.ts';
import { NotebookView } from './notebook-view.ts';
import { Presentation } from './presentation.ts';
import { inPageTarget, readRoute, routeHash, writeRoute, type Route } from './route.ts';
import { Sidebar } from './sidebar.ts';

/**
 * The workbench window: notebook list, the open notebook (or the artifacts view), the jobs
 * panel, and the toolbar whose commands the desktop menus also send.
 */
export class App {
  private client!: KernelClient;
  private view: NotebookView | undefined;
  private viewPreset = '';
  private showing: Promise<void> = Promise.resolve();
  private readonly jobs = new JobsPanel((notebook, cell) => this.showCell(notebook, cell));
  private readonly artifacts: ArtifactsView;
  private readonly sidebar: Sidebar;
  private readonly content = h('main', { class: 'content', 'aria-label': 'Notebook' });
  private readonly presentation = new Presentation(document.body, this.content);
  private readonly title = h('span', { class: 'title' });
  private readonly status = h('span', { class: 'save-status' });
  private readonly banner = h('div', { class: 'banner', hidden: true });
  private readonly preset = h('select', {
    class: 'preset',
    'aria-label': 'Preset',
    title: 'Preset every cell sees',
  });

  constructor(private readonly host: Host) {
    this.artifacts = new ArtifactsView(host);
    this.sidebar = new Sidebar(host, (path) => this.openPath(path));
    for (const name of PRESETS) this.preset.append(h('option', { value: name }, name));
    this.preset.addEventListener('change', () =>
      this.navigate({ ...readRoute(), preset: this.preset.value }),
    );
    host.onCommand((command, path) => void this.command(command, path));
    host.onLeave(() => this.view?.document.flush());
    document.addEventListener('keydown', (event) => {
      if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === 'KeyP') {
        event.preventDefault();
        this.togglePresentation();
      }
    });
    this.content.addEventListener('click', (event) => {
      const link = (event.target as Element).closest?.('a[href^="#"]');
      const id = link ? inPageTarget(link.getAttribute('href') ?? '') : undefined;
      if (id === undefined) return;
      event.preventDefault();
      this.content.querySelector(`[id="${CSS.escape(id)}"]`)?.scrollIntoView();
    });
  }

  /** Builds the window into `root`, connects to the kernel and shows the route in the URL. */
  async start(root: HTMLElement): Promise<void> {
    const button = (label: string, command: AppCommand, title: string): HTMLElement =>
      h(
        'button',
        { class: `cmd-${command}`, title, onclick: () => void this.command(command) },
        label,
      );
    replaceChildren(
      root,
      h(
        'header',
        { class: 'topbar' },
        h('span', { class: 'brand' }, 'FineMed Workbench'),
        this.title,
        h('span', { class: 'spacer' }),
        h('label', { class: 'preset-label' }, 'preset ', this.preset),
        h(
          'button',
          {
            class: 'cmd-present',
            title: 'Present the notebook: outputs only, one section per screen (Alt+P)',
            'aria-keyshortcuts': 'Alt+P',
            onclick: () => this.togglePresentation(),
          },
          'Present',
        ),
        button('Run all', 'run-all', 'Run every stale cell, approving costly jobs'),
        button('Interrupt', 'interrupt', "Cancel this notebook's jobs"),
        button('Restart', 'restart-kernel', 'Reconnect to a fresh kernel and re-run'),
        button('Save', 'save', 'Save (Ctrl+S)'),
        button('Save as…', 'save-as', 'Save under another name'),
        this.status,
      ),
      h('div', { class: 'notice', role: 'note' }, NOT_FOR_CLINICAL_USE),
      this.banner,
      h('div', { class: 'layout' }, this.sidebar.element, this.content, this.jobs.element),
      this.presentation.bar,
    );
    await this.connect(false);
    // pushState does not fire popstate; back/forward and typed hashes do.
    window.addEventListener('popstate', () => void this.queue(readRoute()));
    window.addEventListener('hashchange', () => void this.queue(readRoute()));
    await this.refreshList();
    await this.queue(readRoute());
  }

  private async connect(restart: boolean): Promise<void> {
    const transport = await this.host.connectKernel(restart);
    const client = new KernelClient(transport);
    const previous = this.client as KernelClient | undefined;
    this.client = client;
    // The old connection's jobs were interrupted; closing it lets the kernel forget them.
    previous?.close();
    transport.onClose(() => {
      if (this.client === client)
        this.warn('The kernel connection closed. Use Restart to reconnect.');
    });
    this.jobs.watch(client);
    this.warn(undefined);
  }

  private async command(command: AppCommand, path?: string): Promise<void> {
    const view = this.view;
    switch (command) {
      case 'open':
        return this.sidebar.chooseAndOpen();
      case 'open-recent':
        return path ? this.openPath(path) : undefined;
      case 'run-all':
        return view?.runAll();
      case 'interrupt':
        return view?.interrupt();
      case 'restart-kernel':
        await view?.interrupt();
        await this.connect(true);
        return view?.restart(this.client);
      case 'save':
        return view?.document.save();
      case 'save-as':
        return view && this.saveAs(view);
      case 'save-and-close':
        await view?.document.save();
        return this.host.close();
    }
  }

  private async show(route: Route): Promise<void> {
    this.preset.value = route.preset;
    // The sidebar's Artifacts link keeps the preset, so coming back finds the same one.
    this.sidebar.element
      .querySelector('a.nav-artifacts')
      ?.setAttribute('href', routeHash({ view: 'artifacts', preset: route.preset }));
    if (route.view === 'artifacts') {
      this.closeNotebook();
      replaceChildren(this.content, this.artifacts.element);
      this.title.textContent = 'Artifacts';
      return this.artifacts.refresh();
    }
    if (!route.path) {
      this.closeNotebook();
      replaceChildren(
        this.content,
        h(
          'div',
          { class: 'welcome' },
          h('h1', {}, 'Open a notebook'),
          h('p', {}, 'Pick one on the left, or open a file.'),
        ),
      );
      return;
    }
    if (this.shown(route)) return;
    if (this.view && this.view.document.path === route.path) {
      // Same notebook, another preset: the session restarts and keeps the edits.
      this.viewPreset = route.preset;
      this.view.restart(this.client, route.preset);
      return;
    }
    this.closeNotebook();
    try {
      const opened = await this.host.call('notebook.open', { path: route.path });
      this.view = new NotebookView({
        host: this.host,
        client: this.client,
        opened,
        preset: route.preset,
        onStatus: (status) => this.showStatus(status),
        onTitle: (title) => {
          this.title.textContent = title;
          document.title = `${title} — FineMed Workbench`;
        },
        onRenamed: (path) => {
          writeRoute({ ...readRoute(), path });
          void this.refreshList();
        },
      });
      this.viewPreset = route.preset;
      replaceChildren(this.content, this.view.element);
      this.title.textContent = this.view.title;
      document.title = `${this.view.title} — FineMed Workbench`;
      this.showStatus({ kind: 'saved' });
      await this.refreshList();
    } catch (error) {
      replaceChildren(
        this.content,
        h('div', { class: 'bar error-bar', role: 'alert' }, (error as Error).message),
      );
    }
  }

  private closeNotebook(): void {
    this.presentation.exit();
    this.view?.document.flush();
    this.view?.dispose();
    this.view = undefined;
    this.status.textContent = '';
  }

  private togglePresentation(): void {
    if (this.presentation.active) this.presentation.exit();
    else if (this.view) this.presentation.start(this.view.element);
  }

  /** Scrolls to cell `cell` when the open notebook is `notebook` (a file name). */
  private showCell(notebook: string, cell: number): void {
    const path = this.view?.document.path;
    if (
      !path ||
      path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1) !== notebook
    )
      return;
    const element = this.content.querySelector<HTMLElement>(`section.cell[data-cell-id="${cell}"]`);
    if (!element) return;
    if (this.presentation.active) this.presentation.exit();
    element.scrollIntoView({ block: 'start' });
    element.classList.add('cell-pointed');
    setTimeout(() => element.classList.remove('cell-pointed'), 1600);
  }

  private navigate(route: Route): void {
    writeRoute(route);
    void this.queue(route);
  }

  /** Shows routes one after another, so two quick navigations never open a notebook twice. */
  private queue(route: Route): Promise<void> {
    this.showing = this.showing
      .then(() => this.show(route))
      .catch((error) => this.warn(String(error)));
    return this.showing;
  }

  private shown(route: Route): boolean {
    return (
      route.view === 'notebook' &&
      this.view?.document.path === route.path &&
      this.viewPreset === route.preset
    );
  }

  private openPath(path: string): void {
    this.navigate({ ...readRoute(), view: 'notebook', path });
  }

  private refreshList(): Promise<void> {
    return this.sidebar.refresh(readRoute().path);
  }

  private async saveAs(view: NotebookView): Promise<void> {
    const suggested = view.document.path;
    const path = this.host.chooseSavePath
      ? await this.host.chooseSavePath(suggested)
      : window.prompt('Save the notebook as (an .html path):', suggested);
    if (!path) return;
    await view.document.saveAs(path);
    writeRoute({ ...readRoute(), path });
    await this.refreshList();
  }

  private showStatus(status: SaveStatus): void {
    const text: Record<SaveStatus['kind'], string> = {
      saved: 'Saved',
      saving: 'Saving…',
      unsaved:
        status.kind === 'unsaved' && status.recovered ? 'Unsaved (recovery kept)' : 'Unsaved',
      error: status.kind === 'error' ? `Save failed: ${status.message}` : '',
    };
    this.status.textContent = text[status.kind];
    this.status.className = `save-status save-${status.kind}`;
  }

  private warn(message: string | undefined): void {
    this.banner.hidden = message === undefined;
    this.banner.textContent = message ?? '';
  }
}
