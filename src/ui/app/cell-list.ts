import type { CellView } from './cell-view.ts';
import { h } from './dom.ts';

/**
 * The notebook's cell views, in an element whose children follow notebook order: the
 * structural steps (insert, remove, move) keep the element, the views and the order in step.
 */
export class CellList {
  /** The element holding the cells' sections. */
  readonly element = h('div', { class: 'cells' });
  private readonly views = new Map<number, CellView>();

  /** `make` creates the view of cell `id`. */
  constructor(private readonly make: (id: number) => CellView) {}

  /** The view of cell `id`, if it is shown. */
  get(id: number): CellView | undefined {
    return this.views.get(id);
  }

  /** Every view, in no particular order. */
  all(): CellView[] {
    return [...this.views.values()];
  }

  /** Shows exactly the cells `ids`, in order, with new views. */
  reset(ids: readonly number[]): void {
    this.views.clear();
    this.element.replaceChildren(...ids.map((id) => this.add(id).element));
  }

  /** Shows cell `id` at `index`. */
  insert(id: number, index: number): CellView {
    const view = this.add(id);
    this.element.insertBefore(view.element, this.element.children[index] ?? null);
    return view;
  }

  /** Stops showing cell `id`. */
  remove(id: number): void {
    this.views.get(id)?.element.remove();
    this.views.delete(id);
  }

  /** Moves cell `id` so it ends up at `index`. */
  move(id: number, index: number): void {
    const element = this.views.get(id)?.element;
    if (!element) return;
    element.remove();
    this.element.insertBefore(element, this.element.children[index] ?? null);
  }

  private add(id: number): CellView {
    const view = this.make(id);
    this.views.set(id, view);
    return view;
  }
}
