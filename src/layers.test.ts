import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('.', import.meta.url));

/**
 * DESIGN.md's layers, lowest first: a folder imports only from its own layer and those below.
 * The data, training and evaluation stages share a layer; the applications (the UI server,
 * the CLI, the OpenAI-compatible model server) sit on top.
 */
const LAYERS: Record<string, number> = {
  core: 0,
  engine: 1,
  model: 2,
  data: 3,
  train: 3,
  eval: 3,
  kernel: 4,
  notebook: 5,
  ui: 6,
  cli: 6,
  'model-server': 6,
};

/** Every relative import of the non-test TypeScript under `src`, as [importer, imported] folders. */
function imports(): { file: string; from: string; to: string }[] {
  return readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('fixtures'))
    .flatMap((f) =>
      [...readFileSync(join(src, f), 'utf8').matchAll(/from '(\.[^']+)'/g)].map((m) => ({
        file: f,
        from: f.split('/')[0],
        to: relative(src, join(src, dirname(f), m[1])).split('/')[0],
      })),
    );
}

describe('layers', () => {
  const all = imports();

  it('every source folder has a layer', () => {
    const folders = readdirSync(src, { withFileTypes: true }).filter((d) => d.isDirectory());
    expect(folders.map((d) => d.name).filter((name) => !(name in LAYERS))).toEqual([]);
  });

  it('no module imports from a layer above its own', () => {
    const upward = all.filter((i) => i.to in LAYERS && LAYERS[i.to] > LAYERS[i.from]);
    expect(upward.map((i) => `${i.file} -> ${i.to}`)).toEqual([]);
  });

  it('the model server uses only the model layer and core: no kernel, UI or pipeline stage', () => {
    const strays = all.filter(
      (i) => i.from === 'model-server' && !['model-server', 'model', 'core'].includes(i.to),
    );
    expect(strays.map((i) => `${i.file} -> ${i.to}`)).toEqual([]);
  });
});
