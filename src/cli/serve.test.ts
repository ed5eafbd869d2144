import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServe } from '../ui/testing/browser.ts';
import { main } from './main.ts';

describe('finemed serve', () => {
  it('refuses a non-loopback --host without --allow-remote (usage error, exit 2)', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
    let err = '';
    (stderr as unknown as PassThrough).on('data', (d) => (err += d));
    const code = await main(['serve', '--host', '0.0.0.0', '--port', '0'], { stdout, stderr });
    expect(code).toBe(2);
    expect(err).toContain(
      'refusing to listen on non-loopback address 0.0.0.0 without --allow-remote',
    );
  });

  it('names a port that is in use instead of failing with a bare EADDRINUSE', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
    let err = '';
    (stderr as unknown as PassThrough).on('data', (d) => (err += d));
    const home = mkdtempSync(join(tmpdir(), 'finemed-serve-cli-'));
    process.env.FINEMED_HOME = home;
    try {
      const code = await main(['serve', '--port', String(port)], {
        stdout: new PassThrough(),
        stderr,
      });
      expect(code).toBe(1);
      expect(err).toContain(
        `--port: port ${port} is in use; pick another (--port 0 picks a free one)`,
      );
    } finally {
      blocker.close();
    }
  });

  it('with --allow-remote binds the address, warns on stderr and prints the tokened URL', async () => {
    const home = mkdtempSync(join(tmpdir(), 'finemed-serve-cli-'));
    const serve = await startServe(['--host', '0.0.0.0', '--allow-remote'], { FINEMED_HOME: home });
    try {
      expect(serve.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/\?token=[\w-]{32}$/);
      expect(serve.stderr()).toContain(
        'WARNING: listening on 0.0.0.0, reachable from other machines',
      );
      const port = new URL(serve.url).port;
      const refused = await fetch(`http://127.0.0.1:${port}/`);
      expect(refused.status).toBe(401);
    } finally {
      await serve.stop();
    }
    expect(serve.child.exitCode).toBe(0);
  });
});
