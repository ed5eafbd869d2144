import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { HttpGuard, isLoopbackHost, newToken } from './http-guard.ts';

/** The parts of a request the guard reads. */
function request(headers: Record<string, string>, url = '/'): IncomingMessage {
  return { url, headers } as unknown as IncomingMessage;
}

const guard = new HttpGuard('s3cret', 8000, true);
const local = { host: '127.0.0.1:8000' };

describe('HttpGuard', () => {
  it('lets a request through with the token as a Bearer or token header', () => {
    expect(guard.check(request({ ...local, authorization: 'Bearer s3cret' }))).toBeUndefined();
    expect(guard.check(request({ ...local, authorization: 'bearer s3cret' }))).toBeUndefined();
    expect(guard.check(request({ ...local, authorization: 'token s3cret' }))).toBeUndefined();
  });

  it('answers 401 without the token, with a wrong one, or with one in the query', () => {
    expect(guard.check(request(local))).toEqual({ status: 401, reason: 'a token is required' });
    expect(guard.check(request({ ...local, authorization: 'Bearer s3cre' }))).toEqual({
      status: 401,
      reason: 'the token is not valid',
    });
    expect(guard.check(request({ ...local, authorization: 'Basic s3cret' }))?.status).toBe(401);
    expect(guard.check(request(local, '/?token=s3cret'))?.status).toBe(401);
  });

  it('pins Host to loopback names and the bound port on a loopback bind', () => {
    const auth = { authorization: 'Bearer s3cret' };
    for (const host of ['localhost:8000', '[::1]:8000', '127.0.0.2:8000'])
      expect(guard.check(request({ host, ...auth }))).toBeUndefined();
    for (const host of ['evil.example:8000', '127.0.0.1:9000', '127.0.0.1', 'a b'])
      expect(guard.check(request({ host, ...auth }))).toEqual({
        status: 403,
        reason: `host '${host}' is not this server`,
      });
    expect(guard.check(request(auth))?.reason).toBe('a Host header is required');
    const open = new HttpGuard('s3cret', 8000, false);
    expect(open.check(request({ host: 'gpu-box.lan:8000', ...auth }))).toBeUndefined();
  });

  it('refuses a foreign Origin or a cross-site fetch before looking at the token', () => {
    expect(guard.check(request({ ...local, origin: 'https://evil.example' }))).toEqual({
      status: 403,
      reason: "cross-origin request from 'https://evil.example' refused",
    });
    expect(guard.check(request({ ...local, origin: 'null' }))?.status).toBe(403);
    expect(guard.check(request({ ...local, 'sec-fetch-site': 'cross-site' }))?.status).toBe(403);
    const same = { ...local, origin: 'http://127.0.0.1:8000', authorization: 'Bearer s3cret' };
    expect(guard.check(request(same))).toBeUndefined();
  });

  it('with a null token checks Host and Origin only', () => {
    const open = new HttpGuard(null, 8000, true);
    expect(open.check(request(local))).toBeUndefined();
    expect(open.check(request({ host: 'evil.example:8000' }))?.status).toBe(403);
  });
});

describe('isLoopbackHost and newToken', () => {
  it('tells loopback addresses from the rest', () => {
    for (const host of ['localhost', '127.0.0.1', '127.9.9.9', '::1', '[::1]'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'example.com', '128.0.0.1'])
      expect(isLoopbackHost(host)).toBe(false);
  });

  it('makes distinct URL-safe tokens of 32 characters', () => {
    const a = newToken();
    expect(a).toMatch(/^[\w-]{32}$/);
    expect(newToken()).not.toBe(a);
  });
});
