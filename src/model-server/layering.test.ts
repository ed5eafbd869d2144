import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('..', import.meta.url));

/** Every non-test TypeScript file under `dir`, with the relative imports it makes. */
function imports(dir: string): { file: string; specifiers: string[] }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('fixtures'))
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      const specifiers = [...text.matchAll(/from '(\.[^']+)'/g)].map((m) => m[1]);
      return { file: relative(src, join(dir, f)), specifiers };
    });
}

describe('the model server is an application', () => {
  it('imports only the model layer, core and itself (no kernel, UI or pipeline stage)', () => {
    const allowed = /^(\.\/[^/]+|\.\.\/(core|model)\/[^/]+)\.ts$/;
    const strays = imports(join(src, 'model-server')).flatMap(({ file, specifiers }) =>
      specifiers.filter((s) => !allowed.test(s)).map((s) => `${file} -> ${s}`),
    );
    expect(strays).toEqual([]);
  });

  it('is imported by no layer below the applications', () => {
    const apps = new Set(['cli', 'ui', 'model-server']);
    const users = readdirSync(src, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !apps.has(d.name))
      .flatMap((d) => imports(join(src, d.name)))
      .filter(({ specifiers }) => specifiers.some((s) => s.includes('model-server/')))
      .map(({ file }) => file);
    expect(users).toEqual([]);
  });
});
