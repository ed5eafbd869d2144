import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { contentType } from '../src/ui/server/content-types.ts';
import { securityHeaders } from '../src/ui/server/security.ts';

/** The app's own URL scheme; the page loads from `finemed-app://app/index.html`. */
export const APP_SCHEME = 'finemed-app';

/**
 * The handler of the app's scheme: the built renderer's files in `dir` (flat, no
 * subfolders, no dotfiles) and nothing else, every response carrying the CSP.
 */
export function rendererResponder(dir: string): (request: Request) => Promise<Response> {
  const notFound = (): Response =>
    new Response('not found', { status: 404, headers: securityHeaders() });
  return async (request) => {
    try {
      const url = new URL(request.url);
      // Decoded, so an escaped `..%2F` is refused like a literal one.
      const name = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
      if (url.host !== 'app' || /[/\\]/.test(name) || name.startsWith('.') || name === '') {
        return notFound();
      }
      const body = await readFile(join(dir, name));
      return new Response(body, {
        headers: { ...securityHeaders(), 'Content-Type': contentType(name) },
      });
    } catch {
      return notFound();
    }
  };
}
