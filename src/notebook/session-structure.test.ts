// The session's structural edits: moving cells and putting removed cells back (undo).
import { afterEach, describe, expect, it } from 'vitest';
import { closeSessions, dom, notebookOf, openSession, type Session } from './testing.ts';

afterEach(closeSessions);

function session(...sources: string[]): { session: Session; container: HTMLElement } {
  const container = dom.window.document.createElement('div');
  const { session: s } = openSession(notebookOf(...sources), {
    container,
    document: dom.window.document,
  });
  return { session: s, container };
}

const order = (s: Session): number[] => s.notebook.cells.map((c) => c.id);
const roots = (s: Session, container: HTMLElement): number[] =>
  [...container.children].map((root) => s.cells.findIndex((c) => c.root === root) + 1);

describe('NotebookSession structure', () => {
  it('move(id, index) reorders cells and output roots and re-runs nothing', async () => {
    const { session: s, container } = session('const a = 1;', 'const b = a + 1;', 'b * 10');
    await s.settled();
    const runs = s.cells.map((c) => c.runs);
    s.move(1, 2);
    expect(order(s)).toEqual([2, 3, 1]);
    s.move(3, 0);
    expect(order(s)).toEqual([3, 2, 1]);
    // Output roots follow notebook order (positions in s.cells, which is notebook order).
    expect(roots(s, container)).toEqual([1, 2, 3]);
    expect(s.cells.map((c) => c.cell.id)).toEqual([3, 2, 1]);
    await s.settled();
    expect(s.notebook.cells.map((c) => s.cell(c.id).runs)).toEqual([runs[2], runs[1], runs[0]]);
    expect(() => s.move(1, 3)).toThrow('cannot move cell 1 to 3: the notebook has 3 cells');
    expect(() => s.move(9, 0)).toThrow('no cell 9');
  });

  it('insert with the removed id brings the cell back where it was, and dependents resolve', async () => {
    const { session: s, container } = session('const a = 2;', 'const b = a * 3;', 'b + 1');
    await s.settled();
    expect(s.cell(3).value).toBe(7);
    const removed = s.cell(2).cell;
    s.remove(2);
    await s.settled();
    expect(s.cell(3).state.kind).not.toBe('done');
    s.insert(removed, 1, 2);
    await s.settled();
    expect(order(s)).toEqual([1, 2, 3]);
    expect(roots(s, container)).toEqual([1, 2, 3]);
    expect(s.cell(3).value).toBe(7);
    expect(() => s.insert(removed, 0, 2)).toThrow('cell 2 is already in this notebook');
    expect(() => s.insert({ value: '1' }, 5)).toThrow(
      'cannot insert at 5: the notebook has 3 cells',
    );
    // Without an id, a new one past the largest.
    expect(s.insert({ value: '1' }, 0)).toBe(4);
    expect(order(s)).toEqual([4, 1, 2, 3]);
  });
});
