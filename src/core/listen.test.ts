import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from './listen.ts';

const servers: Server[] = [];
const server = (): Server => {
  const s = createServer();
  servers.push(s);
  return s;
};

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise((resolve) => s.close(() => resolve(undefined)))),
  );
});

describe('listen', () => {
  it('binds a free port and leaves no error listener behind', async () => {
    const s = server();
    const before = s.listenerCount('error');
    const { port, urlHost } = await listen(s, '127.0.0.1', 0);
    expect(port).toBeGreaterThan(0);
    expect(urlHost).toBe('127.0.0.1');
    expect(s.listenerCount('error')).toBe(before);
  });

  it('rejects when the port is taken', async () => {
    const first = server();
    const { port } = await listen(first, '127.0.0.1', 0);
    await expect(listen(server(), '127.0.0.1', port)).rejects.toThrow(/EADDRINUSE/);
  });
});
