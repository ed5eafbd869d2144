import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { projectRoot } from '../../core/version.ts';

/** One file of the built renderer. */
export interface BundleFile {
  /** Its bytes. */
  body: Uint8Array;
  /** Its Content-Type. */
  type: string;
}

/** The built renderer: `index.html`, `app.js`, `app.css` and their source maps, by file name. */
export type UiBundle = Map<string, BundleFile>;

const appDir = join(projectRoot, 'src', 'ui', 'app');

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The Content-Type for a bundle file name. */
export function contentType(name: string): string {
  const ext = name.slice(name.lastIndexOf('.'));
  return types[ext] ?? 'application/octet-stream';
}

/**
 * Bundles the renderer from `src/ui/app/main.ts` with esbuild, in memory (about a second).
 * The same files are served by `finemed serve` and written to `out/renderer` for Electron.
 */
export async function bundleRenderer(options: { minify?: boolean } = {}): Promise<UiBundle> {
  const result = await build({
    entryPoints: { app: join(appDir, 'main.ts') },
    bundle: true,
    write: false,
    outdir: '/bundle',
    format: 'esm',
    platform: 'browser',
    target: ['chrome120'],
    sourcemap: 'linked',
    minify: options.minify ?? false,
    legalComments: 'none',
    loader: { '.woff2': 'file', '.woff': 'file' },
    assetNames: '[name]-[hash]',
    logLevel: 'silent',
  });
  const files: UiBundle = new Map();
  for (const out of result.outputFiles) {
    const name = basename(out.path);
    files.set(name, { body: out.contents, type: contentType(name) });
  }
  const html = await readFile(join(appDir, 'index.html'));
  files.set('index.html', { body: html, type: contentType('index.html') });
  return files;
}
