import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { sha256 } from '../../core/hash.ts';
import { testJobs } from '../../kernel/fixtures/test-jobs.ts';
import type { RunManifest } from './manifest.ts';
import type { RunResults } from './results.ts';
import { runNotebookHeadless } from './runner.ts';
import { verifyRun } from './verify.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures');

/** A scratch copy of the fixture notebooks (outside the project, so untrusted) and a home. */
function workspace(): { dir: string; home: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'finemed-run-'));
  cpSync(fixtures, dir, { recursive: true });
  return { dir, home: join(dir, 'home'), out: join(dir, 'out') };
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

describe('runNotebookHeadless', () => {
  it('writes report.html, results.json and manifest.json for a small notebook', async () => {
    const { dir, home, out } = workspace();
    const run = await runNotebookHeadless({
      notebook: join(dir, 'small.html'),
      outDir: out,
      preset: 'tiny',
      trust: true,
      home,
      jobs: [],
    });
    expect(run.failed).toEqual([]);
    const report = readFileSync(run.reportPath, 'utf8');
    expect(report).toContain('Not for clinical use');
    expect(report).toContain('d3.mean(vitals');
    expect(report).toContain('<svg');
    expect(report).toContain('<table');
    expect(report).toMatch(/<div class="finemed-table"><table>.*ward.*beds/s);
    expect(report).toContain('A small notebook for headless runs (preset: tiny)');
    expect(report).toContain('Mean pulse <b>77.8</b> over 5 beds.');
    expect(report).not.toMatch(/<link|<script src/);

    const results = readJson<RunResults>(join(out, 'results.json'));
    const cell3 = results.cells.find((c) => c.id === 3);
    expect(cell3?.outputs).toEqual({ meanPulse: 77.8, n: 5 });
    expect(cell3?.tolerance).toEqual({ abs: 1e-9, rel: 0 });
    expect(results.cells.find((c) => c.id === 6)?.value).toEqual([
      { ward: 'A', beds: 2 },
      { ward: 'B', beds: 2 },
      { ward: 'C', beds: 1 },
    ]);

    const manifest = readJson<RunManifest>(join(out, 'manifest.json'));
    const csv = join(dir, 'vitals.csv');
    expect(manifest.inputs).toEqual([
      { path: csv, sha256: sha256(readFileSync(csv)), bytes: readFileSync(csv).length, cells: [2] },
    ]);
    expect(manifest.notebook.sha256).toBe(sha256(readFileSync(join(dir, 'small.html'))));
    expect(manifest.preset).toBe('tiny');
    expect(manifest.versions.onnxruntime).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.versions.packages['@observablehq/runtime']).toMatch(/^\d/);
    expect(manifest.cells).toHaveLength(7);
    expect(manifest.cells.every((c) => c.state === 'done' && c.ms >= 0)).toBe(true);
  });

  it('cells see the run seed as runSeed; the manifest records it and verify re-runs with it', async () => {
    const { dir, home, out } = workspace();
    const notebook = join(dir, 'seeded.html');
    writeFileSync(
      notebook,
      '<!doctype html>\n<notebook theme="air">\n  <title>Seeded</title>\n' +
        '  <script id="1" type="module">\n    const twice = 2 * runSeed;\n  </script>\n</notebook>\n',
    );
    const seeded = await runNotebookHeadless({
      notebook,
      outDir: out,
      seed: 7,
      trust: true,
      home,
      jobs: [],
    });
    expect(seeded.results.cells[0].outputs).toEqual({ twice: 14 });
    expect(seeded.manifest.seed).toBe(7);
    const verified = await verifyRun({ dir: out, home, jobs: [] });
    expect(verified.differences).toEqual([]);
    const unseeded = await runNotebookHeadless({
      notebook,
      outDir: join(dir, 'unseeded'),
      home,
      jobs: [],
    });
    expect(unseeded.results.cells[0].outputs).toEqual({ twice: 2 });
  });

  it('a failing cell is named; independent cells still run', async () => {
    const { dir, home, out } = workspace();
    const run = await runNotebookHeadless({
      notebook: join(dir, 'failing.html'),
      outDir: out,
      trust: true,
      home,
      jobs: [],
    });
    // Said once, where it happened: cell 4 only waits on cell 2.
    expect(run.failed.map((f) => f.id)).toEqual([2]);
    expect(run.failed[0].label).toContain("cell 2 (const broken = JSON.parse('{not json');)");
    expect(run.failed[0].message).toMatch(/JSON/);
    expect(run.results.cells.find((c) => c.id === 3)?.outputs).toEqual({ doubled: 10 });
    expect(run.results.cells.find((c) => c.id === 4)?.state).toBe('blocked');
    expect(readFileSync(run.reportPath, 'utf8')).toContain('1 cell(s) failed');
  });

  it('FileAttachment reads beside the notebook in a headless run; the manifest records the file', async () => {
    const { dir, home, out } = workspace();
    const run = await runNotebookHeadless({
      notebook: join(dir, 'attachment.html'),
      outDir: out,
      trust: true,
      home,
      jobs: [],
    });
    expect(run.failed).toEqual([]);
    expect(run.results.cells.find((c) => c.id === 2)?.outputs).toEqual({ maxPulse: 95 });
    const manifest = readJson<RunManifest>(join(out, 'manifest.json'));
    expect(JSON.stringify(manifest)).toContain(sha256(readFileSync(join(dir, 'vitals.csv'))));
  });

  it('timeoutMs ends a run whose cells never finish, failing just those cells', async () => {
    const { dir, home, out } = workspace();
    const run = await runNotebookHeadless({
      notebook: join(dir, 'endless.html'),
      outDir: out,
      trust: true,
      home,
      jobs: [],
      timeoutMs: 1000,
    });
    expect(run.timedOut).toEqual({ seconds: 1, cells: [2, 3] });
    expect(run.failed.map((f) => [f.id, f.message])).toEqual([
      [2, 'still running after the 1 s time limit (--timeout)'],
      [3, 'still running after the 1 s time limit (--timeout)'],
    ]);
    expect(run.results.cells.find((c) => c.id === 4)).toMatchObject({
      state: 'done',
      outputs: { halved: 21 },
    });
    const manifest = readJson<RunManifest>(join(out, 'manifest.json'));
    expect(manifest.cells.map((c) => c.state)).toEqual(['done', 'error', 'error', 'done']);
    expect(readFileSync(run.reportPath, 'utf8')).toContain('2 cell(s) failed');
  });

  it('an artifact a cell asks for again while its upstream reports progress is recorded as made, not reused', async () => {
    const { dir, home, out } = workspace();
    const notebook = join(dir, 'again.html');
    // Cell 2 re-runs on every progress state of the steps job and asks for the same sum each time.
    writeFileSync(
      notebook,
      `<!doctype html><notebook><title>Again</title>
  <script id="1" type="module">const training = wb.run('test.steps', { steps: 4, delayMs: 50 });</script>
  <script id="2" type="module">const sum = (training.history ?? []).length >= 0 ? wb.run('test.sum', { values: [1, 2] }) : null;</script>
</notebook>`,
    );
    const run = await runNotebookHeadless({
      notebook,
      outDir: out,
      home,
      jobs: testJobs,
      trust: true,
    });
    expect(run.failed).toEqual([]);
    expect(run.manifest.artifacts.map((a) => [a.job, a.reused])).toEqual([
      ['test.steps', false],
      ['test.sum', false],
    ]);
  });

  it('refuses an untrusted notebook without running it, and remembers --trust', async () => {
    const { dir, home, out } = workspace();
    const notebook = join(dir, 'small.html');
    const refused = runNotebookHeadless({ notebook, outDir: out, home, jobs: [] });
    await expect(refused).rejects.toBeInstanceOf(InputError);
    await expect(refused).rejects.toThrow('not trusted');
    expect(existsSync(out)).toBe(false);
    await runNotebookHeadless({ notebook, outDir: out, home, jobs: [], trust: true });
    const again = await runNotebookHeadless({ notebook, outDir: out, home, jobs: [] });
    expect(again.failed).toEqual([]);
  });

  it('records jobs, seeds and artifacts; a re-run reuses finished jobs and an edit re-runs only the job it affects', async () => {
    const { dir, home, out } = workspace();
    const options = {
      notebook: join(dir, 'jobs.html'),
      outDir: out,
      preset: 'tiny',
      trust: true,
      home,
      jobs: testJobs,
    };
    const first = await runNotebookHeadless(options);
    expect(first.failed).toEqual([]);
    expect(first.manifest.artifacts.map((a) => [a.job, a.reused])).toEqual([
      ['test.steps', false],
      ['test.sum', false],
    ]);
    expect(first.manifest.seeds.find((s) => s.job === 'test.steps')?.seed).toBe(7);
    const training = first.results.cells.find((c) => c.id === 2)?.outputs?.training;
    expect(training).toMatchObject({ status: 'done', result: { summary: { steps: 2 } } });
    expect(JSON.stringify(training)).not.toMatch(/elapsed|reused/);
    expect(first.results.cells.find((c) => c.id === 4)?.outputs).toEqual({ total: 5 });
    const second = await runNotebookHeadless(options);
    expect(second.manifest.artifacts.every((a) => a.reused)).toBe(true);
    expect(second.results.cells).toEqual(first.results.cells);

    const notebook = readFileSync(options.notebook, 'utf8');
    writeFileSync(options.notebook, notebook.replace('[1, 2, steps]', '[1, 3, steps]'));
    const edited = await runNotebookHeadless(options);
    expect(edited.manifest.artifacts.map((a) => [a.job, a.reused])).toEqual([
      ['test.steps', true],
      ['test.sum', false],
    ]);
    expect(edited.results.cells.find((c) => c.id === 4)?.outputs).toEqual({ total: 6 });
  });
});
