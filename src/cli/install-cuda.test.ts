import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { cudaInstallEnv } from './install-cuda.ts';
import { main } from './main.ts';

describe('finemed install-cuda', () => {
  it('--dry-run explains the download and prints the command without running it', async () => {
    let err = '';
    const stderr = Object.assign(new PassThrough(), {
      isTTY: false,
    }) as unknown as NodeJS.WriteStream;
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await main(['install-cuda', '--dry-run'], { stderr });
    expect(code).toBe(0);
    expect(err).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
    expect(err).toContain('NuGet');
  });

  it('cudaInstallEnv(env) makes the install script attempt the download when run under npx', () => {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    // What `npx finemed` passes down, plus a dead proxy so the attempt fails fast and offline.
    const underNpx: NodeJS.ProcessEnv = {
      ...process.env,
      npm_package_json: join(projectRoot, 'package.json'),
      npm_config_local_prefix: projectRoot,
      npm_config_onnxruntime_node_install: 'skip',
      GLOBAL_AGENT_HTTP_PROXY: 'http://127.0.0.1:9',
      GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9',
    };
    const result = spawnSync(process.execPath, [join(pkg, 'script', 'install.js')], {
      cwd: pkg,
      env: cudaInstallEnv(underNpx),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('ECONNREFUSED 127.0.0.1:9');
  });
});
