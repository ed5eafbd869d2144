import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../model/causal-lm.ts';
import {
  SMALL_LLAMA,
  writeRandomAdapter,
  writeShardedBf16,
} from '../model/fixtures/import-fixtures.ts';
import { loadLora } from '../model/lora.ts';
import { runCli } from './testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-import-cli-'));
const env = { FINEMED_HOME: join(dir, 'home') };
const ids = [[3, 14, 15, 9, 26, 5, 35]];

async function logitsOf(modelDir: string, adapter?: string): Promise<Float32Array> {
  const model = await loadModel(modelDir, { session: { threads: 1 } });
  try {
    if (adapter) await loadLora(model, adapter);
    return (await model.logits(ids)).data;
  } finally {
    await model.dispose();
  }
}
const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('finemed import', () => {
  it('a checkpoint without a bundle: copied to --out, provenance unknown, listed by artifacts', async () => {
    const ckpt = join(dir, 'ckpt');
    await writeShardedBf16(ckpt);
    const out = join(dir, 'out-ckpt');
    const run = await runCli(['import', '--from', ckpt, '--out', out], env);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(
      /^imported checkpoint \(.* parameters, weights BF16 \(copied as stored\)\)/,
    );
    expect(run.out).toContain(
      'provenance: unknown: no finemed-bundle.json in the folder and no bundle given',
    );
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
    expect(meta.kind).toBe('checkpoint');
    expect(run.out).toContain(`artifact: checkpoint ${meta.key}`);
    expect(await logitsOf(out)).toEqual(await logitsOf(ckpt));
    const listed = await runCli(['artifacts', '--json'], env);
    expect(listed.out).toContain(meta.key);

    const again = await runCli(['import', '--from', ckpt, '--out', out], env);
    expect(again.code).toBe(2);
    expect(again.err).toContain('--out must be a new or empty folder');
  });

  it('an adapter with --base --bundle: merged, the output names the bundle and its sources', async () => {
    const base = join(dir, 'base');
    const adapter = join(dir, 'adapter');
    const bundle = join(dir, 'bundle');
    await writeShardedBf16(base);
    await writeRandomAdapter(adapter, base, { seed: 4 });
    mkdirSync(bundle);
    writeFileSync(
      join(bundle, 'manifest.json'),
      JSON.stringify({ hash: 'f00d', sources: { model: 'k1', data: 'k2' } }),
    );
    const out = join(dir, 'out-merged');
    const run = await runCli(
      ['import', '--from', adapter, '--base', base, '--bundle', bundle, '--out', out, '--json'],
      env,
    );
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({
      mode: 'merged',
      bundle: { hash: 'f00d', sources: { model: 'k1', data: 'k2' }, intact: false },
      reused: false,
    });
    expect(maxAbsDiff(await logitsOf(out), await logitsOf(base, adapter))).toBeLessThan(1e-5);

    const text = await runCli(
      ['import', '--from', adapter, '--base', base, '--bundle', bundle, '--out', join(out, 'x')],
      env,
    );
    expect(text.out).toContain('(reused)');
    expect(text.out).toContain(
      "provenance: export bundle f00d (model k1, data k2); WARNING: the bundle folder's files no longer hash to its manifest (edited since export?); WARNING: it was exported from model k1, not this --base\n",
    );
    const listed = await runCli(['artifacts', '--kind', 'checkpoint'], env);
    const { key } = run.json.artifact as { key: string };
    expect(listed.out).toMatch(new RegExp(`${key} .*  bundle f00d\\n`));
    expect(listed.out).toContain('  bundle unknown\n');
  });

  it('an adapter without --base names the folder and the flag', async () => {
    const adapter = join(dir, 'lonely');
    await writeRandomAdapter(adapter, SMALL_LLAMA);
    const run = await runCli(['import', '--from', adapter, '--out', join(dir, 'o3')], env);
    expect(run.code).not.toBe(0);
    expect(run.err).toContain(`${adapter}: a PEFT adapter folder (adapter_config.json)`);
    expect(run.err).toContain('--base DIR');
  });
});
