import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel } from './causal-lm.ts';
import { readSafetensors } from './safetensors.ts';
import { WeightsFolder, writeWeightsFolder } from './weights-folder.ts';

const fixture = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'qwen2_gqa_untied');
const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-shards-'));

describe('writeWeightsFolder / WeightsFolder', () => {
  it('shards large weights with an index that loads back into the same model', async () => {
    const dir = scratch();
    cpSync(fixture, dir, { recursive: true });
    const tensors = await readSafetensors(join(dir, 'model.safetensors'));
    const files = await writeWeightsFolder(dir, tensors, { maxShardBytes: 40_000 });
    expect(files.at(-1)).toBe('model.safetensors.index.json');
    expect(files.length).toBeGreaterThan(3);
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(Object.keys(index.weight_map)).toHaveLength(tensors.size);
    expect(index.metadata.total_size).toBe(
      [...tensors.values()].reduce((s, t) => s + t.data.length * 4, 0),
    );
    const ids = [[1, 2, 3, 4]];
    const sharded = await loadModel(dir);
    const single = await loadModel(fixture);
    expect((await sharded.logits(ids)).data).toEqual((await single.logits(ids)).data);
    await sharded.dispose();
    await single.dispose();
  });

  it('names the shard and tensor when a shard is missing or lacks a listed tensor', async () => {
    const dir = scratch();
    const tensors = await readSafetensors(join(fixture, 'model.safetensors'));
    const files = await writeWeightsFolder(dir, tensors, { maxShardBytes: 40_000 });
    rmSync(join(dir, files[1]));
    await expect(WeightsFolder.open(dir)).rejects.toThrow(
      new RegExp(`${files[1]}: cannot open safetensors file`),
    );
  });

  it('a folder without weights is an error naming the folder', async () => {
    const dir = scratch();
    await expect(WeightsFolder.open(dir)).rejects.toThrow(
      /no model\.safetensors or model\.safetensors\.index\.json/,
    );
  });
});
