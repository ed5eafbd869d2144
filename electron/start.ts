// `npm start`: builds the desktop app and launches it with the installed Electron binary.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../src/core/version.ts';
import { buildElectron } from './build.ts';

/**
 * The Electron binary, found without `require('electron')` (which would try to download it),
 * or undefined with the reason it is missing.
 */
export function electronBinary(
  env: NodeJS.ProcessEnv = process.env,
  root: string = projectRoot,
): { path: string } | { missing: string } {
  const pkg = join(root, 'node_modules', 'electron');
  const pathFile = join(pkg, 'path.txt');
  if (!existsSync(pathFile)) {
    return { missing: `${pathFile} is absent: the Electron binary was never installed` };
  }
  const relative = readFileSync(pathFile, 'utf8').trim();
  const dist = env.ELECTRON_OVERRIDE_DIST_PATH ?? join(pkg, 'dist');
  const path = join(dist, relative);
  return existsSync(path) ? { path } : { missing: `${path} does not exist` };
}

async function start(): Promise<number> {
  const binary = electronBinary();
  if ('missing' in binary) {
    process.stderr.write(
      [
        'npm start: the Electron binary is not installed here, so the desktop app cannot open.',
        `  (${binary.missing})`,
        '  On a machine with network access, install it with: npx install-electron',
        '  (or set ELECTRON_OVERRIDE_DIST_PATH to a folder holding an Electron 45 binary).',
        '  The same UI runs in a browser without Electron: npx finemed serve',
        '',
      ].join('\n'),
    );
    return 1;
  }
  const main = await buildElectron();
  const child = spawn(binary.path, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await start();
