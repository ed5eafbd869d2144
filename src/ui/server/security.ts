import type { IncomingMessage } from 'node:http';
import { HttpGuard } from '../../core/http-guard.ts';

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

/** The cookie that carries the token after the first load; named per port since cookies ignore ports. */
export function tokenCookieName(port: number): string {
  return `finemed_token_${port}`;
}

/**
 * The UI server's guard: besides the `Authorization` header, the page's first load carries the
 * token in its URL (`?token=`) and later requests in a cookie, since a browser navigating to a
 * page or opening a WebSocket cannot add a header.
 */
export class RequestGuard extends HttpGuard {
  constructor(
    override readonly token: string,
    port: number,
    loopbackOnly: boolean,
  ) {
    super(token, port, loopbackOnly);
  }

  /** The token the request carries in its query, `Authorization` header or cookie. */
  override presentedToken(request: IncomingMessage): string | undefined {
    const query = new URL(request.url ?? '/', 'http://x').searchParams.get('token');
    if (query) return query;
    return (
      super.presentedToken(request) ??
      parseCookies(request.headers.cookie)[tokenCookieName(this.port)]
    );
  }

  /** A `Set-Cookie` value that keeps the token for later requests from the same origin. */
  cookie(): string {
    return `${tokenCookieName(this.port)}=${this.token}; Path=/; HttpOnly; SameSite=Strict`;
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
