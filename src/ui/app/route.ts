import { DEFAULT_PRESET } from '../../notebook/index.ts';

/** What the window shows, as kept in the URL's hash (so a reload reopens it). */
export interface Route {
  /** The notebook or the artifacts view. */
  view: 'notebook' | 'artifacts';
  /** The notebook's path, when one is open. */
  path?: string;
  /** The preset cells see. */
  preset: string;
}

/** Reads the route from `#notebook=PATH&preset=P` or `#artifacts`. */
export function readRoute(hash = location.hash): Route {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const preset = params.get('preset') || DEFAULT_PRESET;
  if (params.has('artifacts')) return { view: 'artifacts', preset };
  const path = params.get('notebook') ?? undefined;
  return { view: 'notebook', preset, ...(path ? { path } : {}) };
}

/** The `#...` fragment that opens `route`; `readRoute` reads it back. */
export function routeHash(route: Route): string {
  const params = new URLSearchParams();
  if (route.view === 'artifacts') params.set('artifacts', '');
  else if (route.path) params.set('notebook', route.path);
  if (route.preset !== DEFAULT_PRESET) params.set('preset', route.preset);
  return `#${params.toString()}`;
}

/** Puts a route in the URL without reloading; returns false when it was already there. */
export function writeRoute(route: Route): boolean {
  const hash = routeHash(route);
  if (hash === location.hash || (hash === '#' && location.hash === '')) return false;
  history.pushState(null, '', hash);
  return true;
}

/**
 * The element id an in-page link (`#knobs`, a Markdown heading's own link) points to, or
 * undefined for a link that is a route. The hash holds the route, so following such a
 * link as the browser would close the notebook; the window scrolls to the id instead.
 */
export function inPageTarget(href: string): string | undefined {
  if (!href.startsWith('#') || href === '#') return undefined;
  const params = new URLSearchParams(href.slice(1));
  if (params.has('notebook') || params.has('artifacts')) return undefined;
  try {
    return decodeURIComponent(href.slice(1));
  } catch {
    return undefined;
  }
}
