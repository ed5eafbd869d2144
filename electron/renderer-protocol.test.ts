import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../src/ui/server/security.ts';
import { APP_SCHEME, rendererResponder } from './renderer-protocol.ts';

function rendererDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'finemed-renderer-'));
  const dir = join(root, 'renderer');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>wb</title>');
  writeFileSync(join(dir, 'app.js'), 'export {};');
  writeFileSync(join(dir, '.env'), 'SECRET=1');
  writeFileSync(join(dir, 'sub', 'x.js'), 'nested');
  writeFileSync(join(root, 'outside.txt'), 'not the renderer');
  return dir;
}

const get = (respond: (r: Request) => Promise<Response>, url: string): Promise<Response> =>
  respond(new Request(url));

describe('rendererResponder(dir)', () => {
  it('serves the renderer files with their type and the CSP on every response', async () => {
    const respond = rendererResponder(rendererDir());
    const index = await get(respond, `${APP_SCHEME}://app/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
    expect(await index.text()).toContain('<title>wb</title>');
    const script = await get(respond, `${APP_SCHEME}://app/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const missing = await get(respond, `${APP_SCHEME}://app/nothing.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
  });

  it('refuses paths out of the folder, subfolders, dotfiles and other hosts', async () => {
    const respond = rendererResponder(rendererDir());
    for (const url of [
      `${APP_SCHEME}://app/..%2Foutside.txt`,
      `${APP_SCHEME}://app/%2E%2E%5Coutside.txt`,
      `${APP_SCHEME}://app/sub/x.js`,
      `${APP_SCHEME}://app/.env`,
      `${APP_SCHEME}://app/%E0%A4%A`,
      `${APP_SCHEME}://other/index.html`,
    ]) {
      expect([url, (await get(respond, url)).status]).toEqual([url, 404]);
    }
  });
});

describe('contentSecurityPolicy()', () => {
  it('allows scripts only from the app itself: no inline script, no remote origin', () => {
    const directives = new Map(
      contentSecurityPolicy()
        .split('; ')
        .map((d) => [d.split(' ')[0], d.split(' ').slice(1)] as const),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).not.toContain("'unsafe-inline'");
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    const remote = [...directives.values()]
      .flat()
      .filter((source) => /^(https?:|wss?:|\*)/.test(source));
    expect(remote).toEqual([]);
  });
});
