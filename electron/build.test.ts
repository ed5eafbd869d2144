import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildElectron } from './build.ts';

describe('buildElectron(out)', () => {
  it('builds an ESM main, a preload that needs only electron, and the renderer', async () => {
    const out = mkdtempSync(join(tmpdir(), 'finemed-electron-build-'));
    const main = await buildElectron(out);
    expect(main).toBe(join(out, 'electron', 'main.mjs'));
    expect(readFileSync(main, 'utf8')).toMatch(/from "electron"/);
    // A sandboxed preload runs as a classic script whose require() knows only 'electron'.
    const preload = readFileSync(join(out, 'electron', 'preload.cjs'), 'utf8');
    const required = [...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect([...new Set(required)]).toEqual(['electron']);
    expect(preload).toContain('exposeInMainWorld("finemed"');
    // electron-builder require()s the hook and calls its default export.
    const hook = createRequire(import.meta.url)(join(out, 'electron', 'after-pack.cjs'));
    expect(typeof hook.default).toBe('function');
    for (const name of ['index.html', 'app.js', 'app.css', 'favicon.svg']) {
      expect([name, existsSync(join(out, 'renderer', name))]).toEqual([name, true]);
    }
  });
});
