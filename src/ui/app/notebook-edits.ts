import { defaultPinned, toCell } from '@observablehq/notebook-kit';
import type { Cell, Notebook } from '../../notebook/index.ts';
import { History, reconcile, snapshotOf, type NotebookSnapshot, type Step } from './history.ts';

/** The notebook edits change: its live state and how a step reaches the session and page. */
export interface EditTarget {
  /** The live notebook (the session's: title and cells in order). */
  notebook(): Pick<Notebook, 'title' | 'cells'>;
  /** Applies one step to the session and the page. */
  apply(step: Step): void;
  /** Called after every edit, undo and redo (autosave, buttons). */
  changed(): void;
}

/**
 * The structural edits of a notebook: each one is a new snapshot of the notebook, reached
 * from the live one with the fewest steps and recorded so it can be undone and redone.
 */
export class NotebookEdits {
  private history: History;

  constructor(private readonly target: EditTarget) {
    this.history = new History(snapshotOf(target.notebook()));
  }

  /** True when there is an edit to undo. */
  get canUndo(): boolean {
    return this.history.canUndo;
  }

  /** True when there is an undone edit to redo. */
  get canRedo(): boolean {
    return this.history.canRedo;
  }

  /** Starts the history over from the notebook as it is (a recovered draft replaced it). */
  reset(): void {
    this.history = new History(snapshotOf(this.target.notebook()));
  }

  /** Undoes the latest edit; false when there was none. */
  undo(): boolean {
    return this.reachRecorded(this.history.undo());
  }

  /** Redoes the latest undone edit; false when there was none. */
  redo(): boolean {
    return this.reachRecorded(this.history.redo());
  }

  /** Adds an empty cell at `index` (default: the end); returns its id. */
  add(mode: Cell['mode'], index = this.cells.length): number {
    const id = this.nextId();
    this.change(insertAt(this.cells, index, toCell({ id, mode, value: '' })));
    return id;
  }

  /** Deletes a cell; returns it (for a notice), or undefined when there is no such cell. */
  remove(id: number): Cell | undefined {
    const cell = this.cells.find((c) => c.id === id);
    if (cell) this.change(this.cells.filter((c) => c !== cell));
    return cell;
  }

  /** Moves a cell so it ends up at `index`; out of range does nothing (the first cell up). */
  move(id: number, index: number): void {
    const cell = this.cells.find((c) => c.id === id);
    const others = this.cells.filter((c) => c.id !== id);
    if (cell && index >= 0 && index <= others.length) this.change(insertAt(others, index, cell));
  }

  /** Moves a cell one place up (-1) or down (+1). */
  moveBy(id: number, by: -1 | 1): void {
    this.move(id, this.indexOf(id) + by);
  }

  /** Adds a copy of a cell just below it; returns the copy's id. */
  duplicate(id: number): number {
    const copy = this.nextId();
    const index = this.indexOf(id);
    this.change(insertAt(this.cells, index + 1, toCell({ ...this.cells[index]!, id: copy })));
    return copy;
  }

  /** Changes a cell's mode (the cell is replaced under the same id). */
  setMode(id: number, mode: Cell['mode']): void {
    this.change(
      this.cells.map((c) =>
        c.id === id ? toCell({ ...c, mode, pinned: defaultPinned(mode) }) : c,
      ),
    );
  }

  /** Commits a cell's source (it re-runs). */
  setValue(id: number, value: string): void {
    this.change(this.cells.map((c) => (c.id === id ? { ...c, value } : c)));
  }

  /** Renames the notebook (its `<title>`). */
  rename(title: string): void {
    this.change(this.cells, title);
  }

  /** Replaces the cells at once (one undo step), e.g. knob defaults written into several. */
  setCells(cells: readonly Cell[]): void {
    this.change(cells);
  }

  /** The index of a cell in the live notebook (-1 when absent). */
  indexOf(id: number): number {
    return this.cells.findIndex((c) => c.id === id);
  }

  private get cells(): readonly Cell[] {
    return this.target.notebook().cells;
  }

  private nextId(): number {
    return Math.max(0, ...this.cells.map((c) => c.id)) + 1;
  }

  private change(cells: readonly Cell[], title = this.target.notebook().title): void {
    this.reach({ title, cells });
    this.history.record(snapshotOf(this.target.notebook()));
    this.target.changed();
  }

  private reachRecorded(snapshot: NotebookSnapshot | undefined): boolean {
    if (!snapshot) return false;
    this.reach(snapshot);
    this.target.changed();
    return true;
  }

  private reach(to: NotebookSnapshot): void {
    for (const step of reconcile(snapshotOf(this.target.notebook()), to)) this.target.apply(step);
  }
}

function insertAt(cells: readonly Cell[], index: number, cell: Cell): Cell[] {
  return [...cells.slice(0, index), cell, ...cells.slice(index)];
}
