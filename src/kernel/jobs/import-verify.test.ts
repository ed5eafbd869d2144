import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeRandomAdapter, writeShardedBf16 } from '../../model/fixtures/import-fixtures.ts';
import { runNotebookHeadless } from '../../notebook/node/runner.ts';
import { verifyRun } from '../../notebook/node/verify.ts';
import { importModelJob } from './import.ts';

const NOTEBOOK = `<!doctype html>
<notebook theme="air">
  <title>Imported</title>
  <script id="1" type="module">
    const imported = wb.import({ from: 'adapter', base: 'base' });
  </script>
  <script id="2" type="module">
    const done = await wb.result(imported);
    const bundle = done.summary.bundle.hash;
    const parameters = done.summary.parameters;
    const weights = done.files.find((f) => f.name === 'model.safetensors').sha256;
  </script>
</notebook>
`;

describe('wb.import in a notebook', () => {
  it('a headless run records the import with its bundle, and verify recomputes it identically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finemed-import-nb-'));
    await writeShardedBf16(join(dir, 'base'));
    await writeRandomAdapter(join(dir, 'adapter'), join(dir, 'base'));
    writeFileSync(
      join(dir, 'adapter', 'finemed-bundle.json'),
      JSON.stringify({ hash: 'abc123', sources: { model: 'm', data: 'd' } }),
    );
    writeFileSync(join(dir, 'imported.html'), NOTEBOOK);
    const home = join(dir, 'home');
    const out = join(dir, 'out');
    const run = await runNotebookHeadless({
      notebook: join(dir, 'imported.html'),
      outDir: out,
      trust: true,
      home,
      jobs: [importModelJob],
    });
    expect(run.failed).toEqual([]);
    const outputs = run.results.cells.find((c) => c.id === 2)?.outputs;
    expect(outputs).toMatchObject({ bundle: 'abc123', parameters: expect.any(Number) });
    expect(outputs?.weights).toMatch(/^[0-9a-f]{64}$/);
    expect(run.manifest.artifacts.map((a) => [a.job, a.provenance])).toEqual([
      ['model.import', 'export bundle abc123'],
    ]);
    expect(readFileSync(run.reportPath, 'utf8')).toContain('<br>from export bundle abc123</td>');

    const verified = await verifyRun({ dir: out, home, trust: true, jobs: [importModelJob] });
    expect(verified.numbers).toBeGreaterThan(0);
    expect(verified.differences).toEqual([]);
    expect(verified.inputChanges).toEqual([]);
  });
});
