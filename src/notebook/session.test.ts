import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../core/artifacts.ts';
import { testJobs } from '../kernel/fixtures/test-jobs.ts';
import { Kernel } from '../kernel/kernel.ts';
import type { JobState } from './job-run.ts';
import {
  closeSessions,
  notebookOf as notebook,
  openSession as session,
  type Session,
} from './testing.ts';

afterEach(closeSessions);

const runs = (s: Session): number[] => s.cells.map((c) => c.runs);
const job = (s: Session, id: number, name: string): JobState =>
  s.cell(id).outputs[name] as JobState;

describe('NotebookSession', () => {
  it('edit(id, value) re-runs exactly the edited cell and its dependents', async () => {
    const { session: s } = session(
      notebook('const a = 1;', 'const b = a + 1;', 'const c = 10;', 'const d = c * 2;', 'b + d'),
    );
    await s.settled();
    expect(runs(s)).toEqual([1, 1, 1, 1, 1]);
    expect(s.cell(5).value).toBe(22);
    s.edit(1, 'const a = 5;');
    await s.settled();
    expect(runs(s)).toEqual([2, 2, 1, 1, 2]);
    expect(s.cell(5).value).toBe(26);
  });

  it('a failing cell does not stop independent cells; its dependents wait on it', async () => {
    const { session: s } = session(
      notebook(
        'const x = 1;',
        "const bad = (() => { throw new Error('boom'); })();",
        'const y = x + 1;',
        'const z = bad + 1;',
      ),
    );
    await s.settled();
    expect(s.cell(2).state).toEqual({ kind: 'error', message: 'boom', line: 1, column: 28 });
    expect(s.cell(3).outputs.y).toBe(2);
    expect(s.cell(3).state.kind).toBe('done');
    expect(s.cell(4).state).toMatchObject({ kind: 'blocked', on: 2 });
    expect(s.cell(2).root.textContent).toContain('boom');
  });

  it('marks a costly job cell stale with its estimate instead of running it', async () => {
    const { session: s, kernel } = session(
      notebook("const t = wb.run('test.steps', { steps: 3, seconds: 120 });"),
    );
    await s.settled();
    expect(s.cell(1).state).toEqual({ kind: 'stale', seconds: 120, jobs: ['test.steps'] });
    expect(job(s, 1, 't').status).toBe('stale');
    expect(kernel.status()).toEqual([]);
    expect(await kernel.store.list()).toEqual([]);
    expect(s.cell(1).root.textContent).toContain('estimated 2m00s');
  });

  it('run(id) approves a stale cell and runs its job', async () => {
    const { session: s } = session(
      notebook("const t = wb.run('test.steps', { steps: 3, seconds: 120 });"),
    );
    await s.settled();
    s.run(1);
    await s.settled();
    expect(s.cell(1).state.kind).toBe('done');
    expect(job(s, 1, 't').result?.summary).toMatchObject({ steps: 3 });
  });

  it('an upstream change marks a finished costly cell stale again rather than re-running it', async () => {
    const { session: s, kernel } = session(
      notebook('const steps = 2;', "const t = wb.run('test.steps', { steps, seconds: 120 });"),
    );
    await s.settled();
    s.run(2);
    await s.settled();
    expect(job(s, 2, 't').status).toBe('done');
    s.edit(1, 'const steps = 3;');
    await s.settled();
    expect(s.cell(2).runs).toBe(3);
    expect(s.cell(2).state.kind).toBe('stale');
    expect((await kernel.store.list()).length).toBe(1);
  });

  it('reuses an existing artifact at once, however costly the job', async () => {
    const { session: first, kernel } = session(
      notebook("const t = wb.run('test.steps', { steps: 2, seconds: 999 });"),
      { autoApprove: true },
    );
    await first.settled();
    expect(job(first, 1, 't').result?.reused).toBe(false);
    const { session: s } = session(
      notebook("const t = wb.run('test.steps', { steps: 2, seconds: 999 });"),
      {
        kernel,
      },
    );
    await s.settled();
    expect(s.cell(1).state.kind).toBe('done');
    expect(job(s, 1, 't').result?.reused).toBe(true);
  });

  it("wb.artifactFile(job, name) reads a file of the job's artifact and records it for the manifest", async () => {
    const { session: s } = session(
      notebook(
        "const t = wb.run('test.sum', { values: [1, 4] });",
        "const saved = JSON.parse((await wb.artifactFile(t, 'sum.json')).text).sum;",
      ),
    );
    await s.settled();
    expect(s.cell(2).outputs.saved).toBe(5);
    expect(s.files.map((f) => [f.cell, f.file.path.endsWith('sum.json')])).toEqual([[2, true]]);
  });

  it('generator progress reaches dependents on every step', async () => {
    const { session: s } = session(
      notebook("const t = wb.run('test.steps', { steps: 5, delayMs: 30 });", 't.history.length'),
    );
    const seen: unknown[] = [];
    s.on((e) => {
      if (e.type === 'value' && e.cell === 2) seen.push(e.value);
    });
    await s.settled();
    expect(seen.at(-1)).toBe(5);
    expect(new Set(seen).size).toBeGreaterThan(2);
    expect(s.cell(2).runs).toBeGreaterThan(2);
  });

  it('a job cell waits for an unfinished input job, then runs when it is done', async () => {
    const { session: s } = session(
      notebook(
        "const a = wb.run('test.steps', { steps: 2, seconds: 120 });",
        "const b = wb.run('test.steps', { steps: 1, after: a });",
        'const r = (await wb.result(b)).summary.steps;',
      ),
    );
    await s.settled();
    expect(s.cell(1).state.kind).toBe('stale');
    expect(s.cell(2).state).toMatchObject({ kind: 'waiting' });
    expect(s.cell(3).state).toMatchObject({ kind: 'waiting' });
    s.run(1);
    await s.settled();
    expect(s.cell(2).state.kind).toBe('done');
    expect(s.cell(3).outputs.r).toBe(1);
  });

  it('runAll() runs every stale cell, including ones that become stale on the way', async () => {
    const { session: s } = session(
      notebook(
        "const a = wb.run('test.steps', { steps: 2, seconds: 120 });",
        "const b = wb.run('test.steps', { steps: 1, seconds: 120, after: a });",
      ),
    );
    await s.settled();
    await s.runAll();
    expect(s.cells.map((c) => c.state.kind)).toEqual(['done', 'done']);
  });

  it('reports cell states as events: running, then done', async () => {
    const { session: s } = session(notebook("const t = wb.run('test.steps', { steps: 2 });"));
    const states: string[] = [];
    s.on((e) => {
      if (e.type === 'state') states.push(e.state.kind);
    });
    await s.settled();
    expect(states[0]).toBe('running');
    expect(states.at(-1)).toBe('done');
  });

  it('insert(spec) defines a cell its waiting dependents pick up; remove(id) takes it away', async () => {
    const { session: s } = session(notebook('const b = a + 1;'));
    await s.settled();
    expect(s.cell(1).state.kind).toBe('missing');
    const id = s.insert({ value: 'const a = 1;' }, 0);
    await s.settled();
    expect(s.cell(1).outputs.b).toBe(2);
    expect(s.notebook.cells.map((c) => c.id)).toEqual([id, 1]);
    s.remove(id);
    await s.settled();
    expect(s.cell(1).state).toEqual({ kind: 'missing', names: ['a'] });
  });

  it('a re-run with new inputs detaches the job it had started, which then stops', async () => {
    const kernel = new Kernel({
      store: new ArtifactStore(mkdtempSync(join(tmpdir(), 'finemed-session-'))),
      jobs: testJobs,
      detachGraceMs: 20,
    });
    const { session: s } = session(
      notebook('const steps = 1000;', "const t = wb.run('test.steps', { steps, delayMs: 20 });"),
      { kernel },
    );
    while (job(s, 2, 't')?.status !== 'running') await new Promise((r) => setTimeout(r, 10));
    const first = kernel.status()[0].id;
    s.edit(1, 'const steps = 3;');
    await s.settled();
    expect(job(s, 2, 't').result?.summary).toMatchObject({ steps: 3 });
    while (kernel.status().some((x) => x.id === first)) await new Promise((r) => setTimeout(r, 10));
    expect(await kernel.store.list()).toHaveLength(1);
  });

  it('a re-run that asks for the same artifact joins the running job instead of restarting it', async () => {
    const { session: s, kernel } = session(
      notebook('const delayMs = 20;', "const t = wb.run('test.steps', { steps: 30, delayMs });"),
    );
    while (job(s, 2, 't')?.status !== 'running') await new Promise((r) => setTimeout(r, 10));
    const first = kernel.status()[0].id;
    // The step delay does not change the result, so it is not part of the artifact's key.
    s.edit(1, 'const delayMs = 10;');
    await new Promise((r) => setTimeout(r, 50));
    expect(kernel.status().map((x) => x.id)).toEqual([first]);
    await s.settled();
    expect(job(s, 2, 't').history).toHaveLength(30);
  });

  it('renders md and html cells, and gives a view its widget value', async () => {
    const text = notebook(
      'const n = 3;',
      'const beta = view(Inputs.range([0, 1], { value: 0.25 }));',
    ).replace(
      '</notebook>',
      '  <script id="3" type="text/markdown">\n    # Hello ${n}\n  </script>\n  <script id="4" type="text/html">\n    <b>${beta}</b>\n  </script>\n</notebook>',
    );
    const { session: s } = session(text);
    await s.settled();
    expect(s.cell(2).outputs.beta).toBe(0.25);
    expect(s.cell(3).root.querySelector('h1')?.textContent).toBe('Hello 3');
    expect(s.cell(4).root.innerHTML).toContain('<b>0.25</b>');
  });
});
