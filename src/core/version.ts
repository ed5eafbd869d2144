import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from './hash.ts';

/** The project root (the folder holding package.json). */
export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: string | undefined;

/** `version` from package.json, read once. */
export function packageVersion(): string {
  return (
    JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }
  ).version;
}

/**
 * `version+hash` where the hash covers every non-test source file, so an artifact made by
 * different code gets a different key even when the version number did not move.
 */
export function codeVersion(): string {
  if (cached) return cached;
  const src = join(projectRoot, 'src');
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'fixtures') walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        files.push(path);
      }
    }
  };
  walk(src);
  files.sort();
  const digest = sha256(
    files.map((f) => `${relative(src, f)}\n${readFileSync(f, 'utf8')}`).join('\0'),
  );
  cached = `${packageVersion()}+${digest.slice(0, 12)}`;
  return cached;
}
