import { request as httpRequest } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ArtifactStore } from '../../core/artifacts.ts';
import { UsageError } from '../../core/errors.ts';
import { KernelClient } from '../../kernel/client.ts';
import { testJobs } from '../../kernel/fixtures/test-jobs.ts';
import { Kernel } from '../../kernel/kernel.ts';
import { webSocketTransport } from '../../kernel/transport.ts';
import type { UiBundle } from './bundle.ts';
import { hostHandlers } from './handlers.ts';
import { NotebookLibrary } from './notebooks.ts';
import { startUiServer, type UiServer } from './server.ts';

const home = mkdtempSync(join(tmpdir(), 'finemed-ui-server-'));
const store = new ArtifactStore(home);
const kernel = new Kernel({ store, jobs: testJobs, baseDir: home });
const bundle: UiBundle = new Map([
  ['index.html', { body: Buffer.from('<!doctype html><title>wb</title>'), type: 'text/html' }],
  ['app.js', { body: Buffer.from('export {};'), type: 'text/javascript' }],
]);
const handlers = hostHandlers({
  library: new NotebookLibrary({ home, listDir: home }),
  store,
  notebooksDir: home,
  shell: 'browser',
});
let server: UiServer;

beforeAll(async () => {
  server = await startUiServer({ kernel, handlers, bundle, port: 0 });
});

afterAll(async () => {
  await server.close();
  await kernel.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request, so tests control every header (fetch forbids setting Host). */
function send(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const withToken = (path: string): string =>
  `${path}${path.includes('?') ? '&' : '?'}token=${server.token}`;

describe('startUiServer({ kernel, handlers, bundle })', () => {
  it('binds loopback by default and prints a tokened URL', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses a request without the token (401) or with a wrong one', async () => {
    expect((await send('/')).status).toBe(401);
    expect((await send('/?token=nope')).status).toBe(401);
    expect((await send('/app.js')).status).toBe(401);
    const api = await send('/api/notebooks.list', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(api.status).toBe(401);
  });

  it('serves the page with the token, with a strict CSP, and sets a cookie for later requests', async () => {
    const page = await send(withToken('/'));
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>wb</title>');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self' 'unsafe-eval'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    const cookie = String(page.headers['set-cookie']).split(';')[0];
    expect(cookie).toBe(`finemed_token_${server.port}=${server.token}`);
    const later = await send('/app.js', { headers: { Cookie: cookie } });
    expect(later.status).toBe(200);
    expect(later.headers['content-security-policy']).toBe(csp);
  });

  it('refuses a foreign Origin (403) even with the token', async () => {
    const page = await send(withToken('/'), { headers: { Origin: 'http://evil.example' } });
    expect(page.status).toBe(403);
    const api = await send(withToken('/api/notebooks.list'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: 'http://localhost:3000' },
      body: '{}',
    });
    expect(api.status).toBe(403);
    const sameSite = await send(withToken('/'), { headers: { 'Sec-Fetch-Site': 'same-site' } });
    expect(sameSite.status).toBe(403);
  });

  it('refuses a Host that is not this loopback server (DNS rebinding)', async () => {
    const rebound = await send(withToken('/'), {
      headers: { Host: `attacker.example:${server.port}` },
    });
    expect(rebound.status).toBe(403);
    const same = await send(withToken('/'), {
      headers: { Host: `localhost:${server.port}`, Origin: `http://localhost:${server.port}` },
    });
    expect(same.status).toBe(200);
  });

  it('runs an operation for its own origin and rejects a malformed payload with 400', async () => {
    const origin = `http://127.0.0.1:${server.port}`;
    const headers = { 'Content-Type': 'application/json', Origin: origin };
    const ok = await send(withToken('/api/app.info'), { method: 'POST', headers, body: '{}' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).value.shell).toBe('browser');
    const bad = await send(withToken('/api/notebook.open'), {
      method: 'POST',
      headers,
      body: JSON.stringify({ path: 42 }),
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.message).toMatch(/^path: notebook.open: /);
    const unknown = await send(withToken('/api/shell.exec'), {
      method: 'POST',
      headers,
      body: '{}',
    });
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body).error.message).toContain("unknown operation 'shell.exec'");
  });

  it('refuses a kernel WebSocket without the token or from a foreign origin', async () => {
    const refusal = (url: string, headers: Record<string, string> = {}): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => undefined);
      });
    const base = `ws://127.0.0.1:${server.port}/kernel`;
    expect(await refusal(base)).toBe(401);
    expect(await refusal(`${base}?token=${server.token}`, { Origin: 'http://evil.example' })).toBe(
      403,
    );
    expect(await refusal(`${base}?token=${server.token}`)).toBe(101);
  });

  it('serves the kernel protocol on an accepted WebSocket', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/kernel?token=${server.token}`);
    const client = new KernelClient(webSocketTransport(ws as never));
    const info = await client.hello();
    expect(info.jobs.map((j) => j.name)).toContain('test.sum');
    const result = await client.run('test.sum', { values: [2, 3, 5] }).result;
    expect(result.summary).toMatchObject({ sum: 10 });
    client.close();
  });
});

describe('startUiServer({ host })', () => {
  it('refuses a non-loopback address without allowRemote', async () => {
    await expect(startUiServer({ kernel, handlers, bundle, host: '0.0.0.0' })).rejects.toThrow(
      UsageError,
    );
    await expect(startUiServer({ kernel, handlers, bundle, host: '0.0.0.0' })).rejects.toThrow(
      /--allow-remote/,
    );
  });

  it('binds a non-loopback address with allowRemote, still requiring the token', async () => {
    const remote = await startUiServer({
      kernel,
      handlers,
      bundle,
      host: '0.0.0.0',
      allowRemote: true,
    });
    try {
      expect(remote.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/\?token=/);
      const status = await new Promise<number>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port: remote.port, path: '/' }, (res) =>
          resolve(res.statusCode ?? 0),
        )
          .on('error', reject)
          .end();
      });
      expect(status).toBe(401);
    } finally {
      await remote.close();
    }
  });
});
