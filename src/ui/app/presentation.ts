import { h } from './dom.ts';

/** The class on the window's root while presenting; presentation.css hides the rest by it. */
const PRESENTING = 'presenting';
/** The class on cells outside the section on screen. */
const OFF = 'present-off';

/**
 * Splits cells into sections: one starts at each cell whose output has a Markdown h1 or h2
 * (cells before the first heading make a section of their own).
 */
export function sectionsOf(cells: readonly HTMLElement[]): HTMLElement[][] {
  const sections: HTMLElement[][] = [];
  for (const cell of cells) {
    if (sections.length === 0 || cell.querySelector('.cell-output :is(h1, h2)')) sections.push([]);
    sections.at(-1)!.push(cell);
  }
  return sections;
}

/**
 * Presentation mode for teaching from a notebook: no code, no side panels, outputs large, one
 * section per screen. The cells are not moved or copied, only hidden, so live outputs (training
 * progress, charts) keep updating while presented. Keys: Right, PageDown or Space for the next
 * section, Left or PageUp for the previous one, Home and End, Escape to leave.
 */
export class Presentation {
  /** The controls shown at the bottom of the screen while presenting. */
  readonly bar: HTMLElement;
  private readonly position = h('span', { class: 'presentation-position', 'aria-live': 'polite' });
  private readonly previousButton: HTMLButtonElement;
  private readonly nextButton: HTMLButtonElement;
  private notebook: HTMLElement | undefined;
  private index = 0;
  private observer: MutationObserver | undefined;

  /** `root` gets the presenting class; `scroller` is the element the notebook scrolls in. */
  constructor(
    private readonly root: HTMLElement,
    private readonly scroller: HTMLElement,
  ) {
    const button = (label: string, text: string, act: () => void): HTMLButtonElement =>
      h(
        'button',
        { class: 'presentation-button', 'aria-label': label, title: label, onclick: act },
        text,
      );
    this.previousButton = button('Previous section', '←', () => this.go(this.index - 1));
    this.nextButton = button('Next section', '→', () => this.go(this.index + 1));
    this.bar = h(
      'div',
      { class: 'presentation-bar', role: 'toolbar', 'aria-label': 'Presentation', hidden: true },
      this.previousButton,
      this.position,
      this.nextButton,
      button('Exit presentation', 'Exit', () => this.exit()),
    );
    document.addEventListener('keydown', (event) => this.key(event));
  }

  /** Whether a notebook is being presented. */
  get active(): boolean {
    return this.notebook !== undefined;
  }

  /** Presents `notebook` (the notebook view's element) from its first section. */
  start(notebook: HTMLElement): void {
    this.exit();
    this.notebook = notebook;
    this.root.classList.add(PRESENTING);
    this.bar.hidden = false;
    // Cells re-rendered while presenting (a restart, an insert) fall into their section.
    this.observer = new MutationObserver(() => this.show(false));
    this.observer.observe(notebook, { childList: true, subtree: true });
    this.go(0);
    this.nextButton.focus();
  }

  /** Leaves presentation mode, with the section that was on screen scrolled into view. */
  exit(): void {
    const notebook = this.notebook;
    if (!notebook) return;
    const first = this.sections()[this.index]?.[0];
    this.observer?.disconnect();
    this.notebook = undefined;
    this.root.classList.remove(PRESENTING);
    this.bar.hidden = true;
    for (const cell of this.cells(notebook)) cell.classList.remove(OFF);
    first?.scrollIntoView({ block: 'start' });
  }

  /** Shows section `index` (clamped to the notebook's sections). */
  go(index: number): void {
    const count = this.sections().length;
    this.index = Math.max(0, Math.min(index, count - 1));
    this.show(true);
  }

  private show(scroll: boolean): void {
    if (!this.notebook) return;
    const sections = this.sections();
    this.index = Math.max(0, Math.min(this.index, sections.length - 1));
    sections.forEach((cells, i) => {
      for (const cell of cells) cell.classList.toggle(OFF, i !== this.index);
    });
    const title = sections[this.index]?.[0]?.querySelector('.cell-output :is(h1, h2)');
    const text = `section ${this.index + 1} of ${sections.length}`;
    const label = title?.textContent ? `${text} · ${title.textContent}` : text;
    // A live region re-announces any write, and outputs mutate on every training step.
    if (this.position.textContent !== label) this.position.textContent = label;
    this.previousButton.disabled = this.index === 0;
    this.nextButton.disabled = this.index >= sections.length - 1;
    if (scroll) this.scroller.scrollTop = 0;
  }

  private sections(): HTMLElement[][] {
    return this.notebook ? sectionsOf(this.cells(this.notebook)) : [];
  }

  private cells(notebook: HTMLElement): HTMLElement[] {
    return [...notebook.querySelectorAll<HTMLElement>('section.cell')];
  }

  private key(event: KeyboardEvent): void {
    if (!this.active || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      return this.exit();
    }
    // Keys typed into a knob (a slider, a text field) or pressing a button are theirs.
    const target = event.target as HTMLElement | null;
    if (target?.closest('input, textarea, select, [contenteditable="true"], .cm-editor')) return;
    if (target?.closest('button, a') && (event.key === ' ' || event.key === 'Enter')) return;
    const moves: Record<string, () => number> = {
      ArrowRight: () => this.index + 1,
      PageDown: () => this.index + 1,
      ' ': () => this.index + 1,
      ArrowLeft: () => this.index - 1,
      PageUp: () => this.index - 1,
      Home: () => 0,
      End: () => this.sections().length - 1,
    };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    this.go(move());
  }
}
