import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { runCli as run } from './testing.ts';

describe('main(argv)', () => {
  it('--help lists the commands', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('Usage: finemed <command>');
    expect(out).toContain('artifacts');
  });

  it('<command> --help shows its flags', async () => {
    const { code, out } = await run(['artifacts', '--help']);
    expect(code).toBe(0);
    expect(out).toContain('--kind KIND');
  });

  it('an unknown command exits 2 with a one-line reason', async () => {
    const { code, err } = await run(['nosuchcommand']);
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain("unknown command 'nosuchcommand'");
  });

  it('an unknown flag exits 2 naming the flag', async () => {
    const { code, err } = await run(['artifacts', '--bogus']);
    expect(code).toBe(2);
    expect(err).toContain('--bogus');
  });

  it('artifacts lists an empty store', async () => {
    const home = mkdtempSync(join(tmpdir(), 'finemed-home-'));
    const { code, out, err } = await run(['artifacts'], { FINEMED_HOME: home });
    expect(code).toBe(0);
    expect(out).toBe('');
    expect(err).toContain(home);
    rmSync(home, { recursive: true, force: true });
  });
});

describe('bin/finemed.js', () => {
  const bin = join(projectRoot, 'bin', 'finemed.js');

  it('runs as a real process', () => {
    expect(execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' })).toContain(
      'Commands:',
    );
  });

  it('exits 2 on an unknown command', () => {
    const result = spawnSync(process.execPath, [bin, 'nosuchcommand'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('nosuchcommand');
  });
});
