import { inspect } from '@observablehq/notebook-kit/runtime';
import type { ArtifactSummary, FilePreview } from '../server/artifacts.ts';
import { h, replaceChildren } from './dom.ts';
import type { Host } from './host.ts';

/** Expands an inspected value's first level (the path of the inspector's root element). */
const EXPANDED = [[0]];

/**
 * The artifacts view: every dataset, checkpoint and evaluation in the store; one selected
 * shows its summary and configuration, its datasets as tables and its JSON files.
 */
export class ArtifactsView {
  /** The view's element. */
  readonly element: HTMLElement;
  private readonly list = h('div', { class: 'artifact-list' });
  private readonly detail = h('div', { class: 'artifact-detail' });

  constructor(private readonly host: Host) {
    this.element = h(
      'div',
      { class: 'artifacts' },
      h(
        'div',
        { class: 'artifacts-head' },
        h('h1', {}, 'Artifacts'),
        h('button', { class: 'artifacts-refresh', onclick: () => void this.refresh() }, 'Refresh'),
      ),
      h('div', { class: 'artifacts-body' }, this.list, this.detail),
    );
  }

  /** Reloads the list from the store. */
  async refresh(): Promise<void> {
    const artifacts = await this.host.call('artifacts.list', {});
    if (artifacts.length === 0) {
      replaceChildren(
        this.list,
        h('p', { class: 'muted' }, 'No artifacts yet: run a notebook to make some.'),
      );
      return;
    }
    const kinds = [...new Set(artifacts.map((a) => a.kind))].sort();
    replaceChildren(
      this.list,
      ...kinds.map((kind) =>
        h(
          'section',
          { class: 'artifact-kind' },
          h('h2', {}, kind),
          ...artifacts.filter((a) => a.kind === kind).map((a) => this.entry(a)),
        ),
      ),
    );
  }

  private entry(artifact: ArtifactSummary): HTMLElement {
    return h(
      'button',
      {
        class: 'artifact-entry',
        'data-key': artifact.key,
        onclick: () => void this.open(artifact.kind, artifact.key),
      },
      h('code', {}, artifact.key.slice(0, 12)),
      h('span', { class: 'muted' }, new Date(artifact.createdAt).toLocaleString()),
    );
  }

  private async open(kind: string, key: string): Promise<void> {
    const preview = await this.host.call('artifacts.preview', { kind, key });
    replaceChildren(
      this.detail,
      h('h2', {}, `${preview.kind} `, h('code', {}, preview.key)),
      h('p', { class: 'muted' }, `made ${new Date(preview.createdAt).toLocaleString()}`),
      h('h3', {}, 'Summary'),
      inspect(preview.summary, EXPANDED),
      h('h3', {}, 'Configuration'),
      inspect(preview.config, EXPANDED),
      ...preview.previews.map(renderFile),
    );
  }
}

function renderFile(preview: FilePreview): HTMLElement {
  const title = h('h3', {}, h('code', {}, preview.file));
  switch (preview.type) {
    case 'table':
      return h(
        'section',
        { class: 'artifact-file' },
        title,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...preview.columns.map((c) => h('th', {}, c)))),
            h(
              'tbody',
              {},
              ...preview.rows.map((row) =>
                h('tr', {}, ...row.map((v) => h('td', {}, cellText(v)))),
              ),
            ),
          ),
        ),
        preview.truncated ? h('p', { class: 'muted' }, 'First rows only.') : null,
      );
    case 'json':
      return h('section', { class: 'artifact-file' }, title, inspect(preview.value, EXPANDED));
    case 'text':
      return h('section', { class: 'artifact-file' }, title, h('pre', {}, preview.text));
    case 'binary':
      return h(
        'section',
        { class: 'artifact-file' },
        title,
        h('p', { class: 'muted' }, `${preview.bytes.toLocaleString('en-US')} bytes`),
      );
  }
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 240 ? `${text.slice(0, 237)}...` : text;
}
