import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { projectRoot } from '../../core/version.ts';
import { contentType } from './content-types.ts';
import { vendorPatches } from './vendor-patches.ts';

/** One file of the built renderer. */
export interface BundleFile {
  /** Its bytes. */
  body: Uint8Array;
  /** Its Content-Type. */
  type: string;
}

/** The built renderer: `index.html`, `app.js`, `app.css`, chunks and source maps, by file name. */
export type UiBundle = Map<string, BundleFile>;

const appDir = join(projectRoot, 'src', 'ui', 'app');

const CDN = /^https:\/\/cdn\.jsdelivr\.net\/npm\/((?:@[^/@]+\/)?[^/@]+)(?:@[^/]+)?(\/.*)?$/;

/**
 * Notebook Kit's standard library imports its optional libraries from a CDN. Where the package
 * is installed here, the import is bundled from node_modules instead, so it works offline and
 * under the app's CSP; the rest stay remote and fail only if a cell uses them.
 */
const cdnToLocal: Plugin = {
  name: 'cdn-to-local',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^https:\/\/cdn\.jsdelivr\.net\/npm\// }, async (args) => {
      const [, name, rest = ''] = CDN.exec(args.path) ?? [];
      if (name) {
        const local = rest === '' || rest === '/+esm' ? name : `${name}${rest}`;
        const found = await pluginBuild.resolve(local, { kind: args.kind, resolveDir: appDir });
        if (found.errors.length === 0) return { path: found.path };
      }
      return { path: args.path, external: true };
    });
  },
};

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
    // Notebook Kit's optional libraries (mermaid, duckdb...) import CDN URLs at the top of
    // their modules; split into chunks, they load only when a cell asks for one (and the CSP
    // then refuses the remote script) instead of breaking the whole page at load.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    platform: 'browser',
    target: ['chrome120'],
    sourcemap: 'linked',
    minify: options.minify ?? true,
    legalComments: 'none',
    loader: { '.woff2': 'file', '.woff': 'file' },
    assetNames: '[name]-[hash]',
    logLevel: 'silent',
    plugins: [cdnToLocal, vendorPatches],
  });
  const files: UiBundle = new Map();
  for (const out of result.outputFiles) {
    const name = basename(out.path);
    files.set(name, { body: out.contents, type: contentType(name) });
  }
  for (const name of ['index.html', 'favicon.svg']) {
    files.set(name, { body: await readFile(join(appDir, name)), type: contentType(name) });
  }
  return files;
}
