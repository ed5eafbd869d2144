import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import type { RunManifest } from '../notebook/node/manifest.ts';
import type { RunResults } from '../notebook/node/results.ts';
import { runCli } from './testing.ts';

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

describe('finemed run notebooks/scale-out.html --preset tiny', () => {
  it('exports, imports with provenance, and ladders local and imported stages; no endpoint is a hint, not a failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finemed-scale-out-'));
    const out = join(dir, 'run');
    const notebook = join(projectRoot, 'notebooks', 'scale-out.html');
    const run = await runCli(['run', notebook, '--preset', 'tiny', '--out', out], {
      FINEMED_HOME: join(dir, 'home'),
    });
    expect(run.err).not.toContain('failed');
    expect(run.code).toBe(0);

    const results = readJson<RunResults>(join(out, 'results.json'));
    const outputs = (name: string): Record<string, unknown> =>
      results.cells.find((c) => c.outputs && name in c.outputs)!.outputs!;
    const manifest = readJson<RunManifest>(join(out, 'manifest.json'));
    const imported = manifest.artifacts.find((a) => a.job === 'model.import')!;
    expect(imported.provenance).toMatch(/^export bundle [0-9a-f]{16,}$/);

    expect(outputs('evalServed').evalServed).toBeNull();
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('No served model yet');
    const rows = outputs('ladderRows').ladderRows as { label: string; b: number; c: number }[];
    expect(rows.map((r) => r.label)).toEqual([
      'Pretrained',
      'SFT (trained here)',
      'SFT (imported)',
    ]);
    expect(rows[2]).toMatchObject({ b: 0, c: 0 });
    const { roundTrip } = outputs('roundTrip') as {
      roundTrip: { items: number; sameAnswer: number; maxScoreGap: number };
    };
    expect(roundTrip.items).toBeGreaterThan(0);
    expect(roundTrip.sameAnswer).toBe(roundTrip.items);
    expect(roundTrip.maxScoreGap).toBe(0);
  }, 900_000);
});
