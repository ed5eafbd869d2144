import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Where a server ended up listening. */
export interface Listening {
  /** The bound port (the one picked when 0 was asked for). */
  port: number;
  /** The host as a URL writes it: an IPv6 address in brackets. */
  urlHost: string;
}

/** Starts `server` listening on `host:port` (0 picks a free port); a failure to bind rejects. */
export async function listen(server: Server, host: string, port: number): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    // Only a bind failure is ours to report: once bound, a later 'error' belongs to the
    // server's owner, and a listener left here would swallow it into a settled promise.
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return { port: bound, urlHost: host.includes(':') ? `[${host}]` : host };
}
