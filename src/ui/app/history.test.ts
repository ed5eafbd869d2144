import { toCell, type Cell } from '@observablehq/notebook-kit';
import { describe, expect, it } from 'vitest';
import { applySteps, History, reconcile, type NotebookSnapshot } from './history.ts';

const cell = (id: number, value = `x${id}`, mode: Cell['mode'] = 'js'): Cell =>
  toCell({ id, value, mode });
const notebook = (...cells: Cell[]): NotebookSnapshot => ({ title: 'T', cells });
const ids = (snapshot: NotebookSnapshot): number[] => snapshot.cells.map((c) => c.id);

describe('reconcile', () => {
  it('brings a deleted cell back with its id and position, and nothing else', () => {
    const before = notebook(cell(1), cell(2), cell(3));
    const after = notebook(cell(1), cell(3));
    const steps = reconcile(after, before);
    expect(steps).toEqual([{ kind: 'insert', cell: before.cells[1], index: 1 }]);
    expect(applySteps(after, steps)).toEqual(before);
  });

  it('undoing an edit re-runs that cell only', () => {
    const one = cell(1);
    const before = notebook(one, cell(2, 'const a = 1;'), cell(3));
    const after = notebook(one, cell(2, 'const a = 2;'), before.cells[2]!);
    expect(reconcile(after, before)).toEqual([{ kind: 'edit', id: 2, value: 'const a = 1;' }]);
  });

  it('one cell moved is one move, however far', () => {
    const [a, b, c, d] = [cell(1), cell(2), cell(3), cell(4)];
    expect(reconcile(notebook(a, b, c, d), notebook(b, c, d, a))).toEqual([
      { kind: 'move', id: 1, index: 3 },
    ]);
    expect(reconcile(notebook(a, b, c, d), notebook(d, a, b, c))).toEqual([
      { kind: 'move', id: 4, index: 0 },
    ]);
  });

  it('a changed mode replaces the cell in place; a title change is one step', () => {
    const before = notebook(cell(1), cell(2, '# Hi', 'js'));
    const after = { title: 'U', cells: [cell(1), cell(2, '# Hi', 'md')] };
    const steps = reconcile(before, after);
    expect(steps).toEqual([
      { kind: 'title', title: 'U' },
      { kind: 'remove', id: 2 },
      { kind: 'insert', cell: after.cells[1], index: 1 },
    ]);
    expect(applySteps(before, steps)).toEqual(after);
  });

  it('reaches any target from any start (shuffles, inserts, removals, edits)', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      const pool = Array.from({ length: 8 }, (_, i) => cell(i + 1, `v${random(3)}`));
      const pick = (): Cell[] => pool.filter(() => random(3) > 0).sort(() => random(3) - 1);
      const from = notebook(...pick());
      const to = notebook(...pick());
      expect(applySteps(from, reconcile(from, to))).toEqual(to);
    }
  });
});

describe('History', () => {
  it('undoes and redoes in order; a new edit drops the redo branch', () => {
    const s0 = notebook(cell(1));
    const s1 = notebook(cell(1), cell(2));
    const s2 = notebook(cell(2));
    const history = new History(s0);
    expect(history.canUndo).toBe(false);
    history.record(s1);
    history.record(s2);
    expect(history.undo()).toBe(s1);
    expect(history.undo()).toBe(s0);
    expect(history.undo()).toBeUndefined();
    expect(history.redo()).toBe(s1);
    history.record(s2);
    expect(history.canRedo).toBe(false);
    expect(history.redo()).toBeUndefined();
    expect(ids(history.current)).toEqual([2]);
  });

  it('ignores a snapshot equal to the current one, and forgets beyond its limit', () => {
    const history = new History(notebook(cell(1)), 3);
    history.record(notebook(cell(1)));
    expect(history.canUndo).toBe(false);
    for (let n = 2; n <= 6; n++) history.record(notebook(cell(n)));
    const undone: number[][] = [];
    for (let s = history.undo(); s; s = history.undo()) undone.push(ids(s));
    expect(undone).toEqual([[5], [4], [3]]);
    expect(() => new History(notebook(), 0)).toThrow(/positive integer, got 0/);
  });
});
