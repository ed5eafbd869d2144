import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from '@uwdata/flechette';
import { afterEach, describe, expect, it } from 'vitest';
import type { KernelClient } from '../kernel/client.ts';
import { failureOf } from './cell-record.ts';
import type { JobState } from './job-run.ts';
import { closeSessions, notebookOf as notebook, openSession, type Session } from './testing.ts';

afterEach(closeSessions);

function open(text: string, base?: string): { s: Session; client: KernelClient } {
  const { session: s, client } = openSession(text, { base });
  return { s, client };
}

/** Resolves once `test` holds, checking after every session event. */
function until(s: Session, test: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (test()) return resolve();
    const off = s.on(() => {
      if (!test()) return;
      off();
      resolve();
    });
  });
}

/** Every state kind each cell reported. */
function kinds(s: Session): Map<number, string[]> {
  const seen = new Map<number, string[]>();
  s.on((e) => {
    if (e.type === 'state') seen.set(e.cell, [...(seen.get(e.cell) ?? []), e.state.kind]);
  });
  return seen;
}

describe('cell states', () => {
  it('a cell pending on a running job waits (never an error), keeping its previous output', async () => {
    const { s } = open(
      notebook(
        "const t = wb.run('test.steps', { steps, delayMs: 40 });",
        'const r = await wb.result(t);',
        'r.summary.steps * 10',
        'const steps = 3;',
      ),
    );
    await s.settled();
    expect(s.cell(3).root.textContent).toBe('30');
    const seen = kinds(s);
    s.edit(4, 'const steps = 4;');
    await until(s, () => s.cell(1).jobs[0]?.status === 'running');
    await until(s, () => s.cell(2).state.kind === 'waiting');
    expect(s.cell(2).state).toEqual({
      kind: 'waiting',
      on: 1,
      reason: 'waiting on cell 1 (test.steps, running)',
    });
    // Cell 3 names the cause, not the cell in between, and still shows its old value.
    expect(s.cell(3).state).toMatchObject({ kind: 'waiting', on: 1 });
    expect(s.cell(3).root.textContent).toBe('30');
    await s.settled();
    expect(s.cell(3).root.textContent).toBe('40');
    for (const id of [2, 3]) expect(seen.get(id)).not.toContain('error');
    expect(s.cells.map((c) => c.state.kind)).toEqual(['done', 'done', 'done', 'done']);
  });

  it('an error is shown once, at its origin, located; dependents wait on that cell', async () => {
    const { s } = open(
      notebook(
        'const x = 2;\nconst y = x.nope.deeper;',
        'const z = y + 1;',
        'z * 2',
        'const ok = (1 +;',
        '({ a: 1 }).b.c',
      ),
    );
    await s.settled();
    expect(s.cell(1).state).toMatchObject({ kind: 'error', line: 2, column: 18 });
    expect(s.cell(1).root.textContent).toContain('deeper');
    expect(s.cell(2).state).toEqual({
      kind: 'blocked',
      on: 1,
      reason: 'waits on cell 1, which failed',
    });
    expect(s.cell(3).state).toMatchObject({ kind: 'blocked', on: 1 });
    for (const id of [2, 3]) expect(s.cell(id).root.textContent).toBe('');
    // Syntax errors say where, with columns counted from 1 as editors do.
    expect(s.cell(4).state).toEqual({
      kind: 'error',
      message: 'Unexpected token (1:16)',
      line: 1,
      column: 16,
    });
    // Expression cells are wrapped in `return (`: still mapped exactly.
    expect(s.cell(5).state).toMatchObject({ kind: 'error', line: 1, column: 14 });
    expect(s.cell(5).root.textContent).toContain("(reading 'c') (1:14)");
    s.edit(1, 'const y = 5;');
    await s.settled();
    expect(s.cell(3).value).toBe(12);
  });

  it('a failed job is said in the cell that started it; a cell awaiting it waits on that cell', async () => {
    const { s } = open(
      notebook("const f = wb.run('test.fail', { file: 'b.jsonl' });", 'await wb.result(f)'),
    );
    await s.settled();
    expect(s.cell(1).state.kind).toBe('error');
    expect(s.cell(2).state).toMatchObject({ kind: 'blocked', on: 1 });
    expect(s.cell(2).root.textContent).toBe('');
  });

  it('an interrupted training-like job says its step once; Resume continues from there', async () => {
    const { s, client } = open(
      notebook(
        "const t = wb.run('test.resume', { steps: 60, delayMs: 25 });",
        'const r = await wb.result(t);',
      ),
    );
    await until(s, () => (s.cell(1).jobs[0]?.progress?.step ?? 0) >= 3);
    await Promise.all((await client.status()).map((e) => client.cancel(e.id)));
    await until(s, () => s.cell(1).state.kind === 'cancelled');
    await s.settled();
    const state = s.cell(1).state;
    if (state.kind !== 'cancelled') throw new Error(`cell 1 is ${state.kind}`);
    expect(state).toMatchObject({ job: 'test.resume', checkpoint: true, total: 60 });
    expect(state.step).toBeGreaterThanOrEqual(3);
    expect(s.cell(1).root.textContent).not.toMatch(/Error/);
    expect(s.cell(2).state).toMatchObject({ kind: 'waiting', on: 1 });
    expect(s.cell(2).root.textContent).toBe('');
    s.run(1);
    await s.settled();
    const result = s.cell(2).outputs.r as { summary: { resumedAt: number } };
    expect(result.summary.resumedAt).toBe(state.step);
    expect((s.cell(1).outputs.t as JobState).status).toBe('done');
  });

  it('a cell reading a name no cell defines needs it (not an error), keeps its output, and its dependents wait on it', async () => {
    const { s } = open(
      notebook(
        'const weightKg = 20;',
        'const doseMg = weightKg * 15;',
        '`dose: ${doseMg} mg`',
        'const doseText = `${doseMg} mg`;',
        'doseText.length',
      ),
    );
    await s.settled();
    expect(s.cell(3).root.textContent).toContain('dose: 300 mg');
    const seen = kinds(s);
    s.remove(2);
    await s.settled();
    expect(s.cell(3).state).toEqual({ kind: 'missing', names: ['doseMg'] });
    expect(s.cell(4).state).toEqual({ kind: 'missing', names: ['doseMg'] });
    expect(s.cell(5).state).toEqual({
      kind: 'blocked',
      on: 4,
      reason: 'waits on cell 4, which needs doseMg',
    });
    // Said compactly in the status, never as an error in the output: the old output stays.
    expect(s.cell(3).root.textContent).toContain('dose: 300 mg');
    expect(s.cell(4).root.textContent).not.toContain('not defined');
    expect(failureOf(s.cell(3).state)).toBe('needs `doseMg`, which no cell defines');
    s.insert({ value: 'const doseMg = weightKg * 10;' }, 1, 2);
    await s.settled();
    expect(s.cells.map((c) => c.state.kind)).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(s.cell(3).root.textContent).toContain('dose: 200 mg');
    expect(s.cell(5).value).toBe(6);
    for (const id of [3, 4, 5]) expect(seen.get(id)).not.toContain('error');
  });

  it('lists every name no cell defines, typos included; builtins and globals are not missing', async () => {
    const { s } = open(
      notebook(
        'Math.max(a, b, d3.sum([c]), invalidation ? 1 : 0)',
        'foo()',
        "const run = new Function('return notAName + 1')();",
      ),
    );
    await s.settled();
    expect(s.cell(1).state).toEqual({ kind: 'missing', names: ['a', 'b', 'c'] });
    expect(failureOf(s.cell(1).state)).toBe('needs `a`, `b` and `c`, which no cell defines');
    // The runtime reports a typo'd name as it does a deleted cell's: both are missing inputs.
    expect(s.cell(2).state).toEqual({ kind: 'missing', names: ['foo'] });
    // A ReferenceError the cell's own code throws stays its error, shown in the output.
    expect(s.cell(3).state).toMatchObject({ kind: 'error', message: 'notAName is not defined' });
    expect(s.cell(3).root.textContent).toContain('notAName is not defined');
  });

  it('runAllCost() sums the stale jobs and lists the ones waiting on them', async () => {
    const { s } = open(
      notebook(
        "const a = wb.run('test.steps', { steps: 1, seconds: 120 });",
        "const b = wb.run('test.steps', { steps: 2, seconds: 60 });",
        "const c = wb.run('test.steps', { steps: 1, after: a });",
      ),
    );
    await s.settled();
    expect(s.runAllCost()).toEqual({
      stale: [
        { cell: 1, job: 'test.steps', seconds: 120 },
        { cell: 2, job: 'test.steps', seconds: 60 },
      ],
      waiting: [{ cell: 3, job: 'test.steps' }],
      seconds: 180,
    });
  });
});

describe('FileAttachment', () => {
  it('reads files beside the notebook: text, json, csv typed, tsv; the manifest records them', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'finemed-attach-'));
    writeFileSync(
      join(folder, 'doses.csv'),
      'drug,mg,oral\namoxicillin,500,true\nibuprofen,400,false\n',
    );
    writeFileSync(join(folder, 'doses.tsv'), 'drug\tmg\nparacetamol\t1000\n');
    writeFileSync(join(folder, 'meta.json'), '{"units":"mg"}');
    writeFileSync(join(folder, 'note.txt'), 'take with food');
    const { s } = open(
      notebook(
        "const rows = await FileAttachment('doses.csv').csv({ typed: true });",
        "const raw = await FileAttachment('doses.csv').csv();",
        "const tsv = await FileAttachment('doses.tsv').tsv({ typed: true });",
        "const meta = await FileAttachment('meta.json').json();",
        "const note = await FileAttachment('note.txt').text();",
        "const file = FileAttachment('doses.csv'); const about = [file.name, file.mimeType];",
        "const missing = await FileAttachment('absent.csv').text();",
      ),
      folder,
    );
    await s.settled();
    expect([...(s.cell(1).outputs.rows as object[])]).toEqual([
      { drug: 'amoxicillin', mg: 500, oral: true },
      { drug: 'ibuprofen', mg: 400, oral: false },
    ]);
    expect((s.cell(1).outputs.rows as { columns: string[] }).columns).toEqual([
      'drug',
      'mg',
      'oral',
    ]);
    expect((s.cell(2).outputs.raw as Record<string, string>[])[0]?.mg).toBe('500');
    expect([...(s.cell(3).outputs.tsv as object[])]).toEqual([{ drug: 'paracetamol', mg: 1000 }]);
    expect(s.cell(4).outputs.meta).toEqual({ units: 'mg' });
    expect(s.cell(5).outputs.note).toBe('take with food');
    expect(s.cell(6).outputs.about).toEqual(['doses.csv', 'text/csv']);
    const missing = s.cell(7).state;
    expect(missing.kind === 'error' ? missing.message : missing.kind).toMatch(/absent\.csv/);
    const read = s.files.map((f) => f.file.path);
    expect(read).toContain(join(folder, 'doses.csv'));
    expect(read).toContain(join(folder, 'meta.json'));
  });

  it('reads binary files as bytes: arrayBuffer, blob, and Arrow IPC as a table', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'finemed-attach-'));
    const ipc = tableToIPC(tableFromArrays({ bed: [1, 2, 3], pulse: [72, 88, 64] }), {
      format: 'file',
    });
    writeFileSync(join(folder, 'vitals.arrow'), ipc ?? new Uint8Array());
    writeFileSync(join(folder, 'raw.bin'), Uint8Array.from([0, 255, 128, 7]));
    const { s } = open(
      notebook(
        "const t = await FileAttachment('vitals.arrow').arrow();\nconst rows = t.numRows; const pulse = t.getChild('pulse').toArray().join(',');",
        "const bytes = [...new Uint8Array(await FileAttachment('raw.bin').arrayBuffer())];",
        "const blob = await FileAttachment('raw.bin').blob(); const size = blob.size;",
        "const table = await FileAttachment('vitals.arrow').arquero(); const mean = aq.agg(table, aq.op.mean('pulse'));",
      ),
      folder,
    );
    await s.settled();
    expect(s.cell(1).outputs).toMatchObject({ rows: 3, pulse: '72,88,64' });
    expect(s.cell(2).outputs.bytes).toEqual([0, 255, 128, 7]);
    expect(s.cell(3).outputs.size).toBe(4);
    expect(s.cell(4).outputs.mean).toBeCloseTo(74.667, 3);
    expect(s.files.map((f) => f.file.path)).toContain(join(folder, 'raw.bin'));
  });
});
