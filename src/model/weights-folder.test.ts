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

describe('WeightsFolder.readAllInto', () => {
  it('reads every tensor of a sharded BF16 folder into one arena, exactly as read one by one', async () => {
    const dir = scratch();
    const tensors = await readSafetensors(join(fixture, 'model.safetensors'));
    await writeWeightsFolder(dir, tensors, { dtype: 'BF16', maxShardBytes: 20_000 });
    const folder = await WeightsFolder.open(dir);
    const names = folder.names();
    const sizes = names.map((n) => tensors.get(n)!.data.length);
    const arena = new Float32Array(sizes.reduce((a, b) => a + b, 0));
    let offset = 0;
    const items = names.map((name, i) => {
      const dest = arena.subarray(offset, (offset += sizes[i]));
      return { name, shape: tensors.get(name)!.shape, dest };
    });
    await folder.readAllInto(items);
    for (const { name, dest } of items) {
      const one = (await folder.read(name)).data;
      expect(dest).toEqual(one);
      // BF16 keeps the top 16 bits of each float32: the low 16 are zero, the high ones the original's.
      const original = new Uint32Array(tensors.get(name)!.data.slice().buffer);
      const loaded = new Uint32Array(dest.slice().buffer);
      expect(
        loaded.every(
          (b, i) => (b & 0xffff) === 0 && Math.abs((b >>> 16) - (original[i] >>> 16)) <= 1,
        ),
      ).toBe(true);
    }
    await folder.close();
  });

  it('a shape that disagrees with the config names the shard and tensor before reading any data', async () => {
    const dir = scratch();
    const tensors = await readSafetensors(join(fixture, 'model.safetensors'));
    await writeWeightsFolder(dir, tensors, { maxShardBytes: 20_000 });
    const folder = await WeightsFolder.open(dir);
    const name = 'model.norm.weight';
    const shard = folder.entry(name)!.file;
    const dest = new Float32Array(tensors.get(name)!.data.length).fill(5);
    await expect(folder.readAllInto([{ name, shape: [1, dest.length], dest }])).rejects.toThrow(
      `${shard}: ${name}: shape [${dest.length}] does not match the config's [1,${dest.length}]`,
    );
    expect(dest.every((x) => x === 5)).toBe(true);
    await folder.close();
  });
});
