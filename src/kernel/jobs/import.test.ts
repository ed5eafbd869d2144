import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../core/artifacts.ts';
import { hashFile } from '../../core/hash.ts';
import { loadModel } from '../../model/causal-lm.ts';
import { writeRandomAdapter, writeShardedBf16 } from '../../model/fixtures/import-fixtures.ts';
import { loadLora } from '../../model/lora.ts';
import { bundleContentHash } from '../../train/export-trl/bundle.ts';
import { Kernel } from '../kernel.ts';
import { importModelJob } from './import.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-import-'));
const kernel = new Kernel({
  store: new ArtifactStore(join(dir, 'store')),
  jobs: [importModelJob],
  baseDir: dir,
});
afterAll(() => kernel.close());

const ids = [[3, 14, 15, 9, 26, 5, 35]];
const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

async function logitsOf(modelDir: string, adapter?: string): Promise<Float32Array> {
  const model = await loadModel(modelDir, { session: { threads: 1 } });
  try {
    if (adapter) await loadLora(model, adapter);
    return (await model.logits(ids)).data;
  } finally {
    await model.dispose();
  }
}

const bundle = { hash: 'b'.repeat(64), sources: { model: 'm1', data: 'd1' }, version: '0.1.0' };
const ckpt = join(dir, 'ckpt');
const base = join(dir, 'base');
const adapter = join(dir, 'adapter');
await writeShardedBf16(ckpt);
await writeShardedBf16(base);
await writeRandomAdapter(adapter, base);
writeFileSync(join(adapter, 'finemed-bundle.json'), JSON.stringify(bundle));

describe('model.import', () => {
  it('a sharded bf16 checkpoint is copied as stored and loads to the same logits', async () => {
    const result = await kernel.run('model.import', { from: 'ckpt' }).result;
    expect(result.artifact.kind).toBe('checkpoint');
    expect(result.files.map((f) => f.name)).toContain('model.safetensors.index.json');
    expect(result.summary).toMatchObject({
      mode: 'checkpoint',
      weights: 'BF16 (copied as stored)',
      bundle: null,
      provenance: expect.stringMatching(/^unknown: no finemed-bundle\.json/),
    });
    const stored = kernel.store.dir('checkpoint', result.artifact.key);
    expect(maxAbsDiff(await logitsOf(stored), await logitsOf(ckpt))).toBe(0);
  });

  it('an adapter merged into its base gives the logits of base + adapter; the artifact names the bundle', async () => {
    const result = await kernel.run('model.import', { from: 'adapter', base: 'base' }).result;
    expect(result.summary).toMatchObject({
      mode: 'merged',
      bundle: { hash: bundle.hash, sources: bundle.sources, baseMatches: false },
      provenance: `export bundle ${bundle.hash}`,
    });
    const meta = await kernel.artifact(result.artifact);
    expect(meta?.recipe.inputs).toMatchObject({
      bundle: bundle.hash,
      'bundle.model': 'm1',
      'bundle.data': 'd1',
    });
    const stored = kernel.store.dir('checkpoint', result.artifact.key);
    expect(JSON.parse(readFileSync(join(stored, 'finemed-bundle.json'), 'utf8'))).toEqual(bundle);
    expect(existsSync(join(stored, 'adapter'))).toBe(false);
    const direct = await logitsOf(base, adapter);
    expect(maxAbsDiff(direct, await logitsOf(base))).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(await logitsOf(stored), direct)).toBeLessThan(1e-5);
  });

  it('keepAdapter keeps the PEFT adapter under adapter/; both ways give base + adapter', async () => {
    const result = await kernel.run('model.import', {
      from: 'adapter',
      base: 'base',
      keepAdapter: true,
    }).result;
    expect(result.summary).toMatchObject({ mode: 'adapter' });
    const stored = kernel.store.dir('checkpoint', result.artifact.key);
    expect(readFileSync(join(stored, 'adapter', 'adapter_model.safetensors'))).toEqual(
      readFileSync(join(adapter, 'adapter_model.safetensors')),
    );
    const direct = await logitsOf(base, adapter);
    expect(maxAbsDiff(await logitsOf(stored), direct)).toBeLessThan(1e-5);
    expect(maxAbsDiff(await logitsOf(base, join(stored, 'adapter')), direct)).toBe(0);
  });

  it('the base may be a checkpoint artifact (an earlier import); its key is an input', async () => {
    const baseArtifact = (await kernel.run('model.import', { from: 'base' }).result).artifact;
    const result = await kernel.run('model.import', { from: 'adapter', base: baseArtifact }).result;
    const meta = await kernel.artifact(result.artifact);
    expect(meta?.recipe.inputs.base).toBe(baseArtifact.key);
    const stored = kernel.store.dir('checkpoint', result.artifact.key);
    expect(maxAbsDiff(await logitsOf(stored), await logitsOf(base, adapter))).toBeLessThan(1e-5);
  });

  it('the key follows the files and the bundle, and is the same when planned again', async () => {
    const first = await kernel.plan('model.import', { from: 'adapter', base: 'base' });
    const again = await kernel.plan('model.import', { from: 'adapter', base: 'base' });
    expect(again.artifact).toEqual(first.artifact);
    expect(first.cached).toBe(true);
    const bundleDir = join(dir, 'bundle');
    mkdirSync(bundleDir);
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ ...bundle, hash: 'c'.repeat(64) }));
    const other = await kernel.plan('model.import', {
      from: 'adapter',
      base: 'base',
      bundle: 'other.json',
    });
    expect(other.artifact.key).not.toBe(first.artifact.key);
    writeFileSync(join(bundleDir, 'train.py'), 'print("train")\n');
    writeFileSync(
      join(bundleDir, 'manifest.json'),
      JSON.stringify({
        hash: await bundleContentHash(bundleDir),
        sources: { model: `sha256:${await hashFile(join(base, 'config.json'))}`, data: 'd1' },
      }),
    );
    const fromFolder = await kernel.run('model.import', {
      from: 'adapter',
      base: 'base',
      bundle: 'bundle',
    }).result;
    expect(fromFolder.summary).toMatchObject({
      bundle: { intact: true, baseMatches: true },
      adapter: { modules: 6, rank: 4, trainedOn: 'small-llama' },
    });
  });

  it('bad input is an error naming the folder, file or tensor', async () => {
    await expect(kernel.plan('model.import', { from: 'adapter' })).rejects.toThrow(
      `${adapter}: a PEFT adapter folder (adapter_config.json): give the model it was trained on`,
    );
    const empty = mkdtempSync(join(dir, 'empty-'));
    await expect(kernel.plan('model.import', { from: empty })).rejects.toThrow(
      `${empty}: not a model folder: no config.json`,
    );
    const noManifest = mkdtempSync(join(dir, 'bundle-'));
    await expect(
      kernel.plan('model.import', { from: 'adapter', base: 'base', bundle: noManifest }),
    ).rejects.toThrow(`${join(noManifest, 'manifest.json')}: cannot read the export bundle`);
    const broken = join(dir, 'broken');
    await writeShardedBf16(broken);
    writeFileSync(join(broken, 'model.safetensors.index.json'), '{"weight_map": ');
    await expect(kernel.run('model.import', { from: 'broken' }).result).rejects.toThrow(
      join(broken, 'model.safetensors.index.json'),
    );
    const narrow = join(dir, 'narrow');
    await writeRandomAdapter(narrow, base, { r: 2 });
    writeFileSync(
      join(narrow, 'adapter_config.json'),
      readFileSync(join(narrow, 'adapter_config.json'), 'utf8').replace('"r": 2', '"r": 3'),
    );
    await expect(
      kernel.run('model.import', { from: 'narrow', base: 'base' }).result,
    ).rejects.toThrow(
      /q_proj\.lora_A\.weight: shape \[2,32\] does not fit the base's model\.layers\.0\.self_attn\.q_proj\.weight \[32,32\] \(expected \[3,32\]/,
    );
  });
});
