import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** Why a request was refused, with the HTTP status to answer. */
export interface Refusal {
  /** 401 without a valid token, 403 for a foreign origin or host. */
  status: 401 | 403;
  /** One line for the response body and the server log. */
  reason: string;
}

/**
 * The Content-Security-Policy of every page the workbench serves (browser and Electron).
 * No inline or remote scripts. `'unsafe-eval'` is what lets the notebook runtime compile the
 * cells the user wrote and trusted; inline styles are allowed because Plot and CodeMirror
 * style their own elements.
 */
export function contentSecurityPolicy(): string {
  return [
    "default-src 'none'",
    "script-src 'self' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/** Headers sent with every response, allowed or refused. */
export function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-store',
  };
}

/** A fresh random access token (URL-safe). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || bare === '::ffff:127.0.0.1';
}

/** The cookie that carries the token after the first load; named per port since cookies ignore ports. */
export function tokenCookieName(port: number): string {
  return `finemed_token_${port}`;
}

/** Checks the token, the `Host` and the `Origin` of every request and WebSocket upgrade. */
export class RequestGuard {
  /**
   * `port` is the port the server listens on; `loopbackOnly` pins accepted `Host` headers to
   * loopback names, which defeats DNS-rebinding pages that point their own name at 127.0.0.1.
   */
  constructor(
    readonly token: string,
    readonly port: number,
    readonly loopbackOnly: boolean,
  ) {}

  /** The refusal for `request`, or undefined when it may proceed. */
  check(request: IncomingMessage): Refusal | undefined {
    return this.checkOrigin(request) ?? this.checkToken(request);
  }

  /** The token the request carries in its query, `Authorization` header or cookie. */
  presentedToken(request: IncomingMessage): string | undefined {
    const query = new URL(request.url ?? '/', 'http://x').searchParams.get('token');
    if (query) return query;
    const auth = request.headers.authorization;
    if (auth?.startsWith('token ')) return auth.slice('token '.length);
    return parseCookies(request.headers.cookie)[tokenCookieName(this.port)];
  }

  /** A `Set-Cookie` value that keeps the token for later requests from the same origin. */
  cookie(): string {
    return `${tokenCookieName(this.port)}=${this.token}; Path=/; HttpOnly; SameSite=Strict`;
  }

  private checkToken(request: IncomingMessage): Refusal | undefined {
    const given = this.presentedToken(request);
    if (given === undefined) return { status: 401, reason: 'a token is required' };
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    if (a.length !== b.length || !timingSafeEqual(a, b))
      return { status: 401, reason: 'the token is not valid' };
    return undefined;
  }

  private checkOrigin(request: IncomingMessage): Refusal | undefined {
    const host = request.headers.host;
    if (!host) return { status: 403, reason: 'a Host header is required' };
    if (this.loopbackOnly) {
      const { hostname, port } = new URL(`http://${host}`);
      if (!isLoopbackHost(hostname) || Number(port || 80) !== this.port)
        return { status: 403, reason: `host '${host}' is not this server` };
    }
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`)
      return { status: 403, reason: `cross-origin request from '${origin}' refused` };
    const site = request.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site')
      return { status: 403, reason: 'cross-site request refused' };
    return undefined;
  }
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return cookies;
}
