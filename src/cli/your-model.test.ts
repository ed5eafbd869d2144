import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JSDOM } from 'jsdom';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { ladderSvg } from '../eval/ladder.ts';
import type { LadderRow } from '../eval/ladder-row.ts';
import type { RunManifest } from '../notebook/node/manifest.ts';
import type { RunResults } from '../notebook/node/results.ts';
import { runCli } from './testing.ts';

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const dir = mkdtempSync(join(tmpdir(), 'finemed-your-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finemed run notebooks/your-model.html --preset tiny', () => {
  it('on a fresh clone: the built-in model through LoRA SFT, DPO and TTT, drawn as the one ladder', async () => {
    const out = join(dir, 'run');
    const notebook = join(projectRoot, 'notebooks', 'your-model.html');
    const run = await runCli(['run', notebook, '--preset', 'tiny', '--out', out], {
      FINEMED_HOME: join(dir, 'home'),
    });
    expect(run.err).not.toContain('failed');
    expect(run.code).toBe(0);

    const results = readJson<RunResults>(join(out, 'results.json'));
    const outputs = (name: string): Record<string, unknown> =>
      results.cells.find((c) => c.outputs && name in c.outputs)!.outputs!;
    const rows = outputs('ladderRows').ladderRows as LadderRow[];
    expect(rows.map((r) => r.label)).toEqual(['Base', 'LoRA SFT', 'DPO', 'DPO+TTT']);
    // The knobs' question limit: every rung scored the same 12 questions, paired with the last.
    expect(rows.map((r) => [r.n, r.paired])).toEqual([
      [12, null],
      [12, 12],
      [12, 12],
      [12, 12],
    ]);
    const { trained } = outputs('trained') as { trained: Record<string, unknown>[] };
    expect(trained.map((t) => t.steps)).toEqual([2, 2]);
    expect(trained[1].beta).toBe(0.1); // the paper preset's DPO beta

    // No model folder or data given: the built-in model and data, loaded from nowhere else.
    const manifest = readJson<RunManifest>(join(out, 'manifest.json'));
    expect(manifest.artifacts.map((a) => a.job)).not.toContain('model.load');
    expect(manifest.artifacts.filter((a) => a.job === 'train.sft')).toHaveLength(2);

    // The report's chart is the CLI's and the snapshot's: the same function on the same rows.
    const report = new JSDOM(readFileSync(join(out, 'report.html'), 'utf8')).window.document;
    const charts = report.querySelectorAll('svg.gain-ladder');
    expect(charts).toHaveLength(1);
    const { document } = new JSDOM('').window;
    const title = `Accuracy by stage on the first 12 questions`;
    expect(charts[0].outerHTML).toBe(ladderSvg(rows, { document, title }).outerHTML);
  }, 900_000);
});
