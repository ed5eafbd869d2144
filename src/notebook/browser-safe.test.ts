import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('src/notebook/index.ts', () => {
  it('bundles for the browser without any Node built-in', async () => {
    const result = await build({
      entryPoints: [new URL('./index.ts', import.meta.url).pathname],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      // Notebook Kit's stdlib lazily imports a few optional libraries from a CDN; Inputs ships CSS.
      external: ['https://*'],
      loader: { '.css': 'empty' },
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(
      inputs.filter(
        (file) => file.startsWith('node:') || /^(fs|path|os|worker_threads)$/.test(file),
      ),
    ).toEqual([]);
    expect(inputs.some((file) => file.includes('src/notebook/session.ts'))).toBe(true);
    expect(
      inputs.filter(
        (file) => file.includes('src/notebook/node/') || file.includes('src/kernel/kernel.ts'),
      ),
    ).toEqual([]);
  });
});
