import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { AccessError, InputError, UsageError } from '../../core/errors.ts';
import { isLoopbackHost, newToken } from '../../core/http-guard.ts';
import { listen } from '../../core/listen.ts';
import type { Kernel } from '../../kernel/kernel.ts';
import { attachKernelToWebSocket } from '../../kernel/serve.ts';
import type { UiBundle } from './bundle.ts';
import { dispatchOperation, type OperationHandlers } from './operations.ts';
import { RequestGuard, securityHeaders } from './security.ts';

/** How the UI server is set up. */
export interface UiServerOptions {
  /** Address to bind; loopback by default. */
  host?: string;
  /** Port; 0 picks a free one. */
  port?: number;
  /** Required to bind a non-loopback address. */
  allowRemote?: boolean;
  /** The access token; a random one by default. */
  token?: string;
  /** The kernel served to every WebSocket at `/kernel`. */
  kernel: Kernel;
  /** The host operations served at `POST /api/<operation>`. */
  handlers: OperationHandlers;
  /** The renderer's files, or their build under way (pages wait for it; the API does not). */
  bundle: UiBundle | Promise<UiBundle>;
}

/** A running UI server. */
export interface UiServer {
  /** The address to open, token included: `http://127.0.0.1:PORT/?token=TOKEN`. */
  url: string;
  /** The bound address. */
  host: string;
  /** The bound port. */
  port: number;
  /** The access token. */
  token: string;
  /** Stops accepting connections and closes open sockets. */
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024 * 1024;

/**
 * Serves the renderer, the host operations and the kernel over HTTP + WebSocket. Every
 * request and socket must carry the token and come from this server's own origin.
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? '127.0.0.1';
  assertBindable(host, options.allowRemote ?? false);
  const loopback = isLoopbackHost(host);
  const token = options.token ?? newToken();
  // A failed build is reported to each page request; it must not go unhandled meanwhile.
  Promise.resolve(options.bundle).catch(() => undefined);
  const http = createServer();
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY });

  http.on('request', (req, res) => {
    const refusal = guard.check(req);
    if (refusal) return sendText(res, refusal.status, refusal.reason);
    serve(req, res, guard, options).catch((error) => sendError(res, error));
  });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refusal =
      guard.check(req) ??
      (new URL(req.url ?? '/', 'http://x').pathname === '/kernel'
        ? undefined
        : { status: 404 as const, reason: 'no such socket' });
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal.status} ${refusal.reason}\r\nConnection: close\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => attachKernelToWebSocket(options.kernel, ws));
  });

  const { port, urlHost } = await listen(http, host, options.port ?? 0);
  // Made once the port is known; no request is handled before `listen` resolves.
  const guard = new RequestGuard(token, port, loopback);
  return {
    url: `http://${urlHost}:${port}/?token=${token}`,
    host,
    port,
    token,
    close: async () => {
      for (const ws of sockets.clients) ws.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Refuses a non-loopback address unless remote access was asked for explicitly. */
export function assertBindable(host: string, allowRemote: boolean): void {
  if (!isLoopbackHost(host) && !allowRemote) {
    throw new UsageError(
      `refusing to listen on non-loopback address ${host} without --allow-remote`,
    );
  }
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  guard: RequestGuard,
  options: UiServerOptions,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname.startsWith('/api/')) {
    if (req.method !== 'POST') return sendText(res, 405, 'operations are POST requests');
    const payload = await readJson(req);
    const value = await dispatchOperation(options.handlers, url.pathname.slice(5), payload);
    return sendJson(res, 200, { value });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return sendText(res, 405, 'method not allowed');
  const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
  const file = (await options.bundle).get(name);
  if (!file) return sendText(res, 404, 'not found');
  const headers: Record<string, string> = { ...securityHeaders(), 'Content-Type': file.type };
  // The first load carries the token in its URL; later requests carry it in a cookie.
  if (name === 'index.html') headers['Set-Cookie'] = guard.cookie();
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
    throw new InputError('operations take a JSON body (Content-Type: application/json)');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new InputError('request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    throw new InputError('request body is not valid JSON');
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, {
    ...securityHeaders(),
    'Content-Type': 'application/json; charset=utf-8',
  });
  res.end(JSON.stringify(value));
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...securityHeaders(), 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) return void res.destroy();
  // A workspace-policy refusal is an InputError too; it must answer 403, so it is checked first.
  const status = error instanceof AccessError ? 403 : error instanceof InputError ? 400 : 500;
  const message = error instanceof Error ? error.message : String(error);
  sendJson(res, status, { error: { name: (error as Error)?.name ?? 'Error', message } });
}
