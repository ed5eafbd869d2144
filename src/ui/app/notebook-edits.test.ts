import { toCell } from '@observablehq/notebook-kit';
import { describe, expect, it } from 'vitest';
import { applySteps, type NotebookSnapshot, type Step } from './history.ts';
import { NotebookEdits } from './notebook-edits.ts';

/** Edits over a plain snapshot, recording each step as the live view would get it. */
function editor(...values: string[]) {
  let live: NotebookSnapshot = {
    title: 'T',
    cells: values.map((value, i) => toCell({ id: i + 1, value })),
  };
  const steps: Step[] = [];
  let changes = 0;
  const edits = new NotebookEdits({
    notebook: () => ({ title: live.title, cells: [...live.cells] }),
    apply: (step) => {
      steps.push(step);
      live = applySteps(live, [step]);
    },
    changed: () => changes++,
  });
  const ids = (): number[] => live.cells.map((c) => c.id);
  return { edits, steps, ids, live: () => live, changes: () => changes };
}

describe('NotebookEdits', () => {
  it('delete then undo puts the same cell back where it was, as one insert', () => {
    const e = editor('a', 'b', 'c');
    const removed = e.edits.remove(2);
    expect(removed?.value).toBe('b');
    expect(e.ids()).toEqual([1, 3]);
    e.steps.length = 0;
    expect(e.edits.undo()).toBe(true);
    expect(e.steps).toEqual([{ kind: 'insert', cell: removed, index: 1 }]);
    expect(e.edits.redo()).toBe(true);
    expect(e.ids()).toEqual([1, 3]);
    expect(e.changes()).toBe(3);
    expect(e.edits.remove(9)).toBeUndefined();
  });

  it('adds, duplicates and moves with fresh ids; moving past an end does nothing', () => {
    const e = editor('a', 'b');
    expect(e.edits.add('md', 0)).toBe(3);
    expect(e.ids()).toEqual([3, 1, 2]);
    expect(e.live().cells[0]).toMatchObject({ mode: 'md', value: '', pinned: false });
    expect(e.edits.duplicate(1)).toBe(4);
    expect(e.live().cells.map((c) => c.value)).toEqual(['', 'a', 'a', 'b']);
    e.edits.moveBy(3, -1);
    expect(e.ids()).toEqual([3, 1, 4, 2]);
    e.edits.moveBy(2, 1);
    e.edits.move(2, 0);
    expect(e.ids()).toEqual([2, 3, 1, 4]);
    expect(e.edits.canUndo).toBe(true);
    for (let i = 0; i < 4; i++) e.edits.undo();
    expect(e.ids()).toEqual([1, 2]);
    expect(e.edits.canUndo).toBe(false);
  });

  it('edits, mode switches and renames are undoable; undoing an edit re-runs only that cell', () => {
    const e = editor('const a = 1;', 'a + 1');
    e.edits.setValue(1, 'const a = 2;');
    e.edits.setMode(2, 'md');
    e.edits.rename('New title');
    expect(e.live()).toMatchObject({ title: 'New title' });
    expect(e.live().cells[1]).toMatchObject({ id: 2, mode: 'md', value: 'a + 1' });
    e.edits.undo();
    e.edits.undo();
    e.steps.length = 0;
    e.edits.undo();
    expect(e.steps).toEqual([{ kind: 'edit', id: 1, value: 'const a = 1;' }]);
    e.edits.redo();
    e.edits.reset();
    expect(e.edits.canUndo).toBe(false);
    expect(e.edits.canRedo).toBe(false);
  });
});
