import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from './causal-lm.ts';
import { writeRandomAdapter, writeShardedBf16 } from './fixtures/import-fixtures.ts';
import { readLoraAdapter, writeLoraAdapter } from './lora-io.ts';
import { loadLora, mergeLora } from './lora.ts';
import { mergeAdapterFolder } from './merge-lora.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-merge-'));
const ids = [[3, 14, 15, 9, 26, 5, 35]];
const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

async function logitsOf(dir: string, adapter?: string): Promise<Float32Array> {
  const model = await loadModel(dir, { session: { threads: 1 } });
  try {
    if (adapter) await loadLora(model, adapter);
    return (await model.logits(ids)).data;
  } finally {
    await model.dispose();
  }
}

describe('mergeAdapterFolder', () => {
  it('a bf16 sharded base + adapter, merged in f32, gives the logits of the adapter applied at run time', async () => {
    const dir = scratch();
    const base = join(dir, 'base');
    await writeShardedBf16(base);
    await writeRandomAdapter(join(dir, 'adapter'), base, { r: 4, alpha: 8 });
    const merged = await mergeAdapterFolder(base, join(dir, 'adapter'), join(dir, 'merged'));
    expect(merged.modules).toHaveLength(6);
    expect(merged.modules[0]).toBe('model.layers.0.self_attn.q_proj');
    const config = JSON.parse(readFileSync(join(dir, 'merged', 'config.json'), 'utf8'));
    expect(config.torch_dtype).toBe('float32');

    const direct = await logitsOf(base, join(dir, 'adapter'));
    const plain = await logitsOf(base);
    const folded = await logitsOf(join(dir, 'merged'));
    expect(maxAbsDiff(direct, plain)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(folded, direct)).toBeLessThan(1e-5);

    // Merging in memory (what a LoRA training run saves) gives the very same weights.
    const inMemory = await loadModel(base, { session: { threads: 1 } });
    const written = await loadModel(join(dir, 'merged'), { session: { threads: 1 } });
    try {
      await loadLora(inMemory, join(dir, 'adapter'));
      await mergeLora(inMemory);
      for (const path of merged.modules) {
        const name = `${path}.weight`;
        expect(inMemory.params.view(name)).toEqual(written.params.view(name));
      }
    } finally {
      await inMemory.dispose();
      await written.dispose();
    }
  });

  it('a rank that does not fit names the tensor and both shapes', async () => {
    const dir = scratch();
    const base = join(dir, 'base');
    await writeShardedBf16(base);
    await writeRandomAdapter(join(dir, 'adapter'), base, { r: 2 });
    const { config, weights } = await readLoraAdapter(join(dir, 'adapter'));
    const path = 'model.layers.1.self_attn.v_proj';
    const pair = weights.get(path)!;
    weights.set(path, { ...pair, b: { shape: [8, 2], data: pair.b.data.subarray(0, 16) } });
    await writeLoraAdapter(join(dir, 'adapter'), config, weights);
    await expect(
      mergeAdapterFolder(base, join(dir, 'adapter'), join(dir, 'merged')),
    ).rejects.toThrow(
      /base_model\.model\.model\.layers\.1\.self_attn\.v_proj\.lora_B\.weight: shape \[8,2\] does not fit the base's model\.layers\.1\.self_attn\.v_proj\.weight \[16,32\] \(expected \[16,2\]/,
    );
  });

  it('an adapter for a module the base lacks is an error naming the tensor', async () => {
    const dir = scratch();
    const base = join(dir, 'base');
    await writeShardedBf16(base);
    await writeRandomAdapter(join(dir, 'adapter'), base, { r: 2 });
    const { config, weights } = await readLoraAdapter(join(dir, 'adapter'));
    weights.set('model.layers.7.self_attn.q_proj', weights.get('model.layers.0.self_attn.q_proj')!);
    await writeLoraAdapter(join(dir, 'adapter'), config, weights);
    await expect(
      mergeAdapterFolder(base, join(dir, 'adapter'), join(dir, 'merged')),
    ).rejects.toThrow(
      /layers\.7\.self_attn\.q_proj\.lora_A\.weight: the base model .* has no linear layer/,
    );
  });
});
