// Builds the desktop app into out/: the main process (ESM), the sandboxed preload (CommonJS) and
// electron-builder's afterPack hook from electron/, and the renderer bundle the browser UI uses too.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { projectRoot } from '../src/core/version.ts';
import { bundleRenderer } from '../src/ui/server/bundle.ts';

/** Where the build goes (gitignored). */
export const outDir = join(projectRoot, 'out');

/** Builds main, preload, the packaging hook and renderer into `out` (default `out/`); returns main's path. */
export async function buildElectron(out: string = outDir): Promise<string> {
  const electronOut = join(out, 'electron');
  const rendererOut = join(out, 'renderer');
  await rm(rendererOut, { recursive: true, force: true });
  await mkdir(rendererOut, { recursive: true });
  const common = {
    bundle: true,
    platform: 'node' as const,
    target: 'node20',
    sourcemap: 'linked' as const,
    logLevel: 'warning' as const,
  };
  await Promise.all([
    build({
      ...common,
      entryPoints: [join(projectRoot, 'electron', 'main.ts')],
      outfile: join(electronOut, 'main.mjs'),
      format: 'esm',
      // Packages load from node_modules at run time; only our own sources are bundled.
      packages: 'external',
    }),
    build({
      ...common,
      entryPoints: [join(projectRoot, 'electron', 'preload.ts')],
      outfile: join(electronOut, 'preload.cjs'),
      // A sandboxed preload is a classic script that may only require('electron').
      format: 'cjs',
      external: ['electron'],
    }),
    build({
      ...common,
      entryPoints: [join(projectRoot, 'electron', 'after-pack.ts')],
      outfile: join(electronOut, 'after-pack.cjs'),
      // electron-builder require()s its hooks.
      format: 'cjs',
    }),
    bundleRenderer().then(async (files) => {
      for (const [name, file] of files) await writeFile(join(rendererOut, name), file.body);
    }),
  ]);
  return join(electronOut, 'main.mjs');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`built ${await buildElectron()}\n`);
}
