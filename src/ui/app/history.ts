// Browser-safe: undo/redo of a notebook's structure as snapshots, and the smallest set of
// steps that turns one snapshot into another (so undo re-runs only what it must).
import type { Cell, Notebook } from '../../notebook/index.ts';

/**
 * A notebook's structure at one moment: its title and its cells in order. Cells are whole
 * Notebook Kit cells (not just id, mode and value) so a restored cell writes back byte for byte.
 */
export interface NotebookSnapshot {
  /** The notebook's `<title>`. */
  readonly title: string;
  /** The cells in notebook order; never mutated (edits make new cell objects). */
  readonly cells: readonly Cell[];
}

/** One change that {@link reconcile} asks the live notebook to make. */
export type Step =
  | { kind: 'title'; title: string }
  | { kind: 'remove'; id: number }
  /** Insert `cell` (with its own id) so that it ends up at `index`. */
  | { kind: 'insert'; cell: Cell; index: number }
  /** Move cell `id` so that it ends up at `index` (counted in the list without it). */
  | { kind: 'move'; id: number; index: number }
  /** Replace cell `id`'s source with `value` (it re-runs). */
  | { kind: 'edit'; id: number; value: string };

/** The snapshot of a live notebook. */
export function snapshotOf(notebook: Pick<Notebook, 'title' | 'cells'>): NotebookSnapshot {
  return { title: notebook.title, cells: [...notebook.cells] };
}

/** A bounded undo/redo history of snapshots; the newest is the notebook as it is now. */
export class History {
  private readonly past: NotebookSnapshot[];
  private future: NotebookSnapshot[] = [];

  constructor(
    initial: NotebookSnapshot,
    /** How many steps back undo can go; the oldest are forgotten first. */
    private readonly limit = 200,
  ) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`history limit must be a positive integer, got ${limit}`);
    this.past = [initial];
  }

  /** The snapshot the notebook is at. */
  get current(): NotebookSnapshot {
    return this.past[this.past.length - 1]!;
  }

  /** True when there is an edit to undo. */
  get canUndo(): boolean {
    return this.past.length > 1;
  }

  /** True when there is an undone edit to redo. */
  get canRedo(): boolean {
    return this.future.length > 0;
  }

  /** Records the notebook after an edit; what was undone can no longer be redone. */
  record(next: NotebookSnapshot): void {
    if (sameSnapshot(next, this.current)) return;
    this.past.push(next);
    this.future = [];
    if (this.past.length > this.limit + 1) this.past.shift();
  }

  /** Steps back; returns the snapshot to show, or undefined when there is nothing to undo. */
  undo(): NotebookSnapshot | undefined {
    if (!this.canUndo) return undefined;
    this.future.push(this.past.pop()!);
    return this.current;
  }

  /** Steps forward again; undefined when there is nothing to redo. */
  redo(): NotebookSnapshot | undefined {
    const next = this.future.pop();
    if (next) this.past.push(next);
    return next;
  }
}

/**
 * The steps that turn `from` into `to`: removals first, then each cell placed after its
 * predecessor in `to` (cells whose relative order is kept, the longest such run, stay put),
 * then edits. A cell whose mode or attributes changed is removed and inserted again.
 */
export function reconcile(from: NotebookSnapshot, to: NotebookSnapshot): Step[] {
  const steps: Step[] = [];
  if (from.title !== to.title) steps.push({ kind: 'title', title: to.title });
  const target = new Map(to.cells.map((cell) => [cell.id, cell]));
  const kept = from.cells.filter((cell) => {
    const next = target.get(cell.id);
    return next !== undefined && sameAttributes(cell, next);
  });
  const keptIds = new Set(kept.map((cell) => cell.id));
  for (const cell of from.cells)
    if (!keptIds.has(cell.id)) steps.push({ kind: 'remove', id: cell.id });

  const order = kept.map((cell) => cell.id);
  const targetIndex = new Map(to.cells.map((cell, i) => [cell.id, i]));
  const stay = longestIncreasing(order, (id) => targetIndex.get(id)!);
  to.cells.forEach((cell, i) => {
    if (stay.has(cell.id)) return;
    const index = i === 0 ? 0 : order.indexOf(to.cells[i - 1]!.id) + 1;
    const at = order.indexOf(cell.id);
    if (at === -1) {
      order.splice(index, 0, cell.id);
      steps.push({ kind: 'insert', cell, index });
    } else {
      order.splice(at, 1);
      const moved = at < index ? index - 1 : index;
      order.splice(moved, 0, cell.id);
      if (moved !== at) steps.push({ kind: 'move', id: cell.id, index: moved });
    }
  });

  const before = new Map(kept.map((cell) => [cell.id, cell]));
  for (const cell of to.cells) {
    const old = before.get(cell.id);
    if (old && old.value !== cell.value)
      steps.push({ kind: 'edit', id: cell.id, value: cell.value });
  }
  return steps;
}

/** Applies `steps` to a plain list of cells (what the session does, without running anything). */
export function applySteps(snapshot: NotebookSnapshot, steps: readonly Step[]): NotebookSnapshot {
  let title = snapshot.title;
  const cells = [...snapshot.cells];
  const indexOf = (id: number): number => {
    const index = cells.findIndex((cell) => cell.id === id);
    if (index === -1) throw new RangeError(`no cell ${id} in the snapshot`);
    return index;
  };
  for (const step of steps) {
    switch (step.kind) {
      case 'title':
        title = step.title;
        break;
      case 'remove':
        cells.splice(indexOf(step.id), 1);
        break;
      case 'insert':
        cells.splice(step.index, 0, step.cell);
        break;
      case 'move':
        cells.splice(step.index, 0, ...cells.splice(indexOf(step.id), 1));
        break;
      case 'edit':
        cells[indexOf(step.id)] = { ...cells[indexOf(step.id)]!, value: step.value };
        break;
    }
  }
  return { title, cells };
}

function sameSnapshot(a: NotebookSnapshot, b: NotebookSnapshot): boolean {
  return (
    a.title === b.title &&
    a.cells.length === b.cells.length &&
    a.cells.every((cell, i) => cell === b.cells[i] || sameCell(cell, b.cells[i]!))
  );
}

function sameCell(a: Cell, b: Cell): boolean {
  return a.id === b.id && a.value === b.value && sameAttributes(a, b);
}

/** Everything but the source: a change here cannot be made by editing the cell in place. */
function sameAttributes(a: Cell, b: Cell): boolean {
  const { value: _a, ...restA } = a;
  const { value: _b, ...restB } = b;
  return JSON.stringify(restA) === JSON.stringify(restB);
}

/** The ids of a longest run of `ids` whose `rank` increases (they need not move). */
function longestIncreasing(ids: readonly number[], rank: (id: number) => number): Set<number> {
  // Patience sorting: tails[k] is the index in `ids` ending the best run of length k+1.
  const tails: number[] = [];
  const previous: number[] = [];
  ids.forEach((id, i) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rank(ids[tails[mid]!]!) < rank(id)) lo = mid + 1;
      else hi = mid;
    }
    previous[i] = lo > 0 ? tails[lo - 1]! : -1;
    tails[lo] = i;
  });
  const run = new Set<number>();
  for (let i = tails.length ? tails[tails.length - 1]! : -1; i !== -1; i = previous[i]!)
    run.add(ids[i]!);
  return run;
}
