import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../core/artifacts.ts';
import { modelConfigToJson } from '../../model/config.ts';
import { presetConfig } from '../../model/init.ts';
import { bundleContentHash } from '../../train/export-trl/bundle.ts';
import { Kernel } from '../kernel.ts';
import { exportTrlJob } from './export.ts';
import { readBundle } from './import.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-export-job-'));
const kernel = new Kernel({
  store: new ArtifactStore(join(dir, 'store')),
  jobs: [exportTrlJob],
  baseDir: dir,
});
afterAll(() => kernel.close());

mkdirSync(join(dir, 'model'));
writeFileSync(
  join(dir, 'model', 'config.json'),
  JSON.stringify(modelConfigToJson(presetConfig('tiny'))),
);
writeFileSync(
  join(dir, 'pairs.jsonl'),
  JSON.stringify({ prompt: 'Which drug?', chosen: 'Drug A.', rejected: 'Drug B.' }) + '\n',
);

describe('export.trl (wb.export)', () => {
  it('writes the bundle as an artifact that finemed import reads back', async () => {
    const params = {
      stage: 'dpo',
      model: 'model',
      data: 'pairs.jsonl',
      beta: 0.3,
      warmup: 2,
      lora: { r: 2 },
    };
    const result = await kernel.run('export.trl', params).result;
    expect(result.artifact.kind).toBe('bundle');
    const stored = kernel.store.dir('bundle', result.artifact.key);
    const manifest = JSON.parse(readFileSync(join(stored, 'manifest.json'), 'utf8'));
    expect(manifest.trainer_config).toMatchObject({ beta: 0.3, warmup_steps: 2 });
    expect(manifest.lora_config).toMatchObject({ r: 2, lora_alpha: 4 });
    expect(result.summary).toMatchObject({ stage: 'dpo', rows: 1, preset: 'tiny' });
    // The store's meta.json sits beside the files and is not part of the bundle's hash.
    expect(await bundleContentHash(stored)).toBe(manifest.hash);
    const bundle = await readBundle(stored);
    expect(bundle.hash).toBe(manifest.hash);
    expect(bundle.sources).toEqual({
      model: expect.stringMatching(/^sha256:/),
      data: expect.stringMatching(/^sha256:/),
    });
    expect(readFileSync(join(stored, 'train.py'), 'utf8')).toContain('DPOTrainer(');
    const again = await kernel.run('export.trl', params).result;
    expect(again.artifact.key).toBe(result.artifact.key);
  });

  it("rejects a field of the other stage, and rows not in the stage's format by line and field", async () => {
    const sft = { stage: 'sft', model: 'model', data: 'pairs.jsonl' };
    await expect(kernel.run('export.trl', { ...sft, beta: 0.3 }).result).rejects.toThrow(/beta/);
    await expect(kernel.run('export.trl', sft).result).rejects.toThrow(
      `${join(dir, 'pairs.jsonl')}:1: messages: expected a "messages" list`,
    );
  });
});
