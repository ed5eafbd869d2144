import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { runCli as cli } from './testing.ts';

const fixtures = join(projectRoot, 'src', 'notebook', 'fixtures');

/** A scratch copy of the fixture notebooks with its own FINEMED_HOME. */
function workspace(): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'finemed-cli-run-'));
  cpSync(fixtures, dir, { recursive: true });
  return { dir, env: { FINEMED_HOME: join(dir, 'home') } };
}

describe('finemed run', () => {
  it('refuses an untrusted notebook with exit 1 and runs it with --trust', async () => {
    const { dir, env } = workspace();
    const out = join(dir, 'out');
    const refused = await cli(['run', join(dir, 'small.html'), '--out', out], env);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('not trusted');
    expect(existsSync(out)).toBe(false);
    const ran = await cli(['run', join(dir, 'small.html'), '--out', out, '--trust', '--json'], env);
    expect(ran.code).toBe(0);
    const summary = JSON.parse(ran.out.trim().split('\n').at(-1) as string);
    expect(summary).toMatchObject({ report: join(out, 'report.html'), cells: 7, failed: [] });
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
  });

  it('exits 1 naming the failing cell and its error', async () => {
    const { dir, env } = workspace();
    const { code, err } = await cli(
      ['run', join(dir, 'failing.html'), '--trust', '--out', join(dir, 'o')],
      env,
    );
    expect(code).toBe(1);
    expect(err).toMatch(/cell 2 \(const broken = JSON\.parse\('\{not json'\);\) failed: .*JSON/);
  });

  it('--timeout ends a notebook that never finishes with exit 1, naming its cells', async () => {
    const { dir, env } = workspace();
    const args = ['run', join(dir, 'endless.html'), '--trust', '--out', join(dir, 'o')];
    const { code, err, json } = await cli([...args, '--timeout', '0.8', '--json'], env);
    expect(code).toBe(1);
    expect(json).toMatchObject({ timedOut: true, cells: 4 });
    expect(err).toContain('cell 2 (now) failed: still running after the 0.8 s time limit');
    expect(err).toContain('still running after the 0.8 s time limit, so the run was cut short');
    expect((await cli([...args, '--timeout', 'soon'], env)).code).toBe(2);
  });

  it('runs the real pipeline (synth, init, eval) under bin/finemed.js; verify reproduces it', async () => {
    const { dir, env } = workspace();
    const out = join(dir, 'out');
    const bin = join(projectRoot, 'bin', 'finemed.js');
    const notebook = join(dir, 'pipeline.html');
    const result = spawnSync(
      process.execPath,
      [bin, 'run', notebook, '--preset', 'tiny', '--trust', '--out', out, '--json'],
      { encoding: 'utf8', env: { ...process.env, ...env } },
    );
    expect(result.stderr).not.toContain('failed');
    expect(result.status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts.map((a: { job: string }) => a.job)).toEqual([
      'synth',
      'model.init',
      'eval',
    ]);
    expect(manifest.seeds.map((s: { seed: number }) => s.seed)).toEqual([2, 1, 0]);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg');
    const verified = await cli(['verify', out], env);
    expect(verified.out).toMatch(/verify: all \d+ numbers reproduced/);
    expect(verified.code).toBe(0);
  });
});

describe('finemed verify', () => {
  it('passes on an unchanged run and reports the differences after an input file changes', async () => {
    const { dir, env } = workspace();
    const out = join(dir, 'out');
    expect((await cli(['run', join(dir, 'small.html'), '--trust', '--out', out], env)).code).toBe(
      0,
    );
    const same = await cli(['verify', out], env);
    expect(same.code).toBe(0);
    expect(same.out).toMatch(/verify: all \d+ numbers reproduced/);

    writeFileSync(
      join(dir, 'vitals.csv'),
      'bed,ward,pulse\n1,A,72\n2,A,88\n3,B,64\n4,B,95\n5,C,80\n',
    );
    const changed = await cli(['verify', out, '--json'], env);
    expect(changed.code).toBe(1);
    expect(changed.out).toContain(`input changed: ${join(dir, 'vitals.csv')}`);
    const summary = JSON.parse(changed.out.trim().split('\n').at(-1) as string);
    expect(summary.reproduced).toBe(false);
    expect(summary.differences).toContainEqual({
      cell: 'cell 3 (const meanPulse = d3.mean(vitals, (d) => d.pu...)',
      path: 'outputs.meanPulse',
      expected: 77.8,
      actual: 79.8,
    });
  });

  it('a folder that is not a run folder is an input error (exit 1)', async () => {
    const { dir, env } = workspace();
    const { code, err } = await cli(['verify', dir], env);
    expect(code).toBe(1);
    expect(err).toContain('manifest.json');
  });
});
