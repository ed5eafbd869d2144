import { h, replaceChildren } from './dom.ts';

/** The headings the outline lists: h1-h3 of rendered Markdown cells. */
const HEADINGS = 'section.cell-md .cell-output :is(h1, h2, h3)';

/**
 * The notebook's outline: its Markdown headings as a list of entries that scroll to their
 * section. It follows the cells as they render, change, move and go, by watching their DOM.
 */
export class Outline {
  /** The outline's element, a navigation landmark. */
  readonly element: HTMLElement;
  private readonly list = h('ol', { class: 'outline-list' });
  private readonly observer: MutationObserver;
  private scheduled = false;
  private shown = '';

  /** `cells` is the element holding the notebook's cells. */
  constructor(private readonly cells: HTMLElement) {
    this.element = h(
      'nav',
      { class: 'outline', 'aria-label': 'Outline' },
      h('h2', {}, 'Outline'),
      this.list,
    );
    this.observer = new MutationObserver(() => this.schedule());
    this.observer.observe(cells, { childList: true, subtree: true, characterData: true });
    this.update();
  }

  /** Stops following the cells. */
  dispose(): void {
    this.observer.disconnect();
  }

  /** Rebuilds the list soon, once for any number of changes (outputs change often). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      this.update();
    }, 0);
  }

  private headings(): HTMLElement[] {
    return [...this.cells.querySelectorAll<HTMLElement>(HEADINGS)];
  }

  private update(): void {
    const entries = this.headings().map((heading) => ({
      level: heading.tagName.toLowerCase(),
      text: heading.textContent?.trim() ?? '',
    }));
    // Rebuilding on every progress tick would steal hover and focus from the list.
    const key = JSON.stringify(entries);
    if (key === this.shown) return;
    this.shown = key;
    replaceChildren(
      this.list,
      ...(entries.length
        ? entries.map(({ level, text }, i) =>
            h(
              'li',
              { class: `outline-${level}` },
              h(
                'button',
                {
                  class: 'outline-link',
                  // Looked up on click: a re-rendered cell has new heading elements.
                  onclick: () => this.headings()[i]?.scrollIntoView({ block: 'start' }),
                },
                text || '(untitled)',
              ),
            ),
          )
        : [h('li', { class: 'muted' }, 'No headings yet.')]),
    );
  }
}
