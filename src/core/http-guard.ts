import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** Why a request was refused, with the HTTP status to answer. */
export interface Refusal {
  /** 401 without a valid token, 403 for a foreign origin or host. */
  status: 401 | 403;
  /** One line for the response body and the server log. */
  reason: string;
}

/** A fresh random access token (URL-safe, 192 bits). */
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

/**
 * The access check shared by the workbench's HTTP servers: the token, the `Host` and the
 * `Origin` of every request (and WebSocket upgrade). It sends no CORS headers: a page from
 * another origin gets a 403, never a readable answer.
 */
export class HttpGuard {
  private readonly tokenDigest: Buffer | undefined;

  /**
   * `token` null means no token is asked for (callers allow that on loopback binds only).
   * `port` is the port the server listens on; `loopbackOnly` pins accepted `Host` headers to
   * loopback names and that port, which defeats DNS-rebinding pages that point their own name
   * at 127.0.0.1.
   */
  constructor(
    readonly token: string | null,
    readonly port: number,
    readonly loopbackOnly: boolean,
  ) {
    this.tokenDigest = token === null ? undefined : digest(token);
  }

  /** The refusal for `request`, or undefined when it may proceed. */
  check(request: IncomingMessage): Refusal | undefined {
    return this.checkOrigin(request) ?? this.checkToken(request);
  }

  /**
   * The token the request carries: `Authorization: Bearer <token>` (as OpenAI clients send
   * their API key) or `Authorization: token <token>`.
   */
  presentedToken(request: IncomingMessage): string | undefined {
    return /^(?:bearer|token) +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
  }

  private checkToken(request: IncomingMessage): Refusal | undefined {
    if (this.tokenDigest === undefined) return undefined;
    const given = this.presentedToken(request);
    if (given === undefined) return { status: 401, reason: 'a token is required' };
    // Digests have one length, so the comparison takes the same time whatever was sent.
    if (!timingSafeEqual(digest(given), this.tokenDigest))
      return { status: 401, reason: 'the token is not valid' };
    return undefined;
  }

  private checkOrigin(request: IncomingMessage): Refusal | undefined {
    const host = request.headers.host;
    if (!host) return { status: 403, reason: 'a Host header is required' };
    if (this.loopbackOnly) {
      let url: URL;
      try {
        url = new URL(`http://${host}`);
      } catch {
        return { status: 403, reason: `host '${host}' is not this server` };
      }
      if (!isLoopbackHost(url.hostname) || Number(url.port || 80) !== this.port)
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

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
