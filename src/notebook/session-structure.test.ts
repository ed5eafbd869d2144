// The session's structural edits: moving cells and putting removed cells back (undo).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../core/artifacts.ts';
import { KernelClient } from '../kernel/client.ts';
import { testJobs } from '../kernel/fixtures/test-jobs.ts';
import { Kernel } from '../kernel/kernel.ts';
import { serveKernel } from '../kernel/serve.ts';
import { inProcessPair } from '../kernel/transport.ts';
import { installDom } from './node/dom.ts';
import { parseNotebook } from './notebook-file.ts';

// Notebook Kit's runtime module reads `document` when it loads, so the DOM comes first.
const dom = installDom();
const { NotebookSession } = await import('./session.ts');
type Session = InstanceType<typeof NotebookSession>;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

function session(...sources: string[]): { session: Session; container: HTMLElement } {
  const cells = sources.map(
    (s, i) => `  <script id="${i + 1}" type="module">\n    ${s}\n  </script>\n`,
  );
  const text = `<!doctype html>\n<notebook theme="air">\n  <title>t</title>\n${cells.join('')}</notebook>\n`;
  const kernel = new Kernel({
    store: new ArtifactStore(mkdtempSync(join(tmpdir(), 'finemed-structure-'))),
    jobs: testJobs,
  });
  const [client, served] = inProcessPair();
  serveKernel(kernel, served);
  const container = dom.window.document.createElement('div');
  const s = new NotebookSession(parseNotebook(text, { parser: dom.parser }), {
    client: new KernelClient(client),
    container,
    document: dom.window.document,
  });
  cleanup.push(
    () => s.dispose(),
    () => kernel.close(),
  );
  s.start();
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
