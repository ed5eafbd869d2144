import { webSocketTransport } from '../../notebook/index.ts';
import type { Host } from './host.ts';

/**
 * The host of a page served by `finemed serve`. The token arrives in the first URL and is
 * then carried by an HttpOnly cookie, so it is dropped from the address bar at once.
 */
export function httpHost(): Host {
  const url = new URL(location.href);
  if (url.searchParams.has('token')) {
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return {
    shell: 'browser',
    async call(name, payload, options = {}) {
      const response = await fetch(`/api/${name}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(payload),
        credentials: 'same-origin',
        keepalive: options.keepalive ?? false,
      });
      const body = (await response.json().catch(() => ({}))) as {
        value?: unknown;
        error?: { message: string };
      };
      if (!response.ok) throw new Error(body.error?.message ?? `${name}: HTTP ${response.status}`);
      return body.value as never;
    },
    async connectKernel() {
      return webSocketTransport(new WebSocket(`ws://${location.host}/kernel`));
    },
    // A browser tab has no menus; its toolbar calls the app directly.
    onCommand: () => undefined,
    setDirty: () => undefined,
    close: () => window.close(),
    onLeave(flush) {
      window.addEventListener('pagehide', flush);
    },
  };
}
