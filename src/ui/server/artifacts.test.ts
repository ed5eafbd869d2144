import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../core/artifacts.ts';
import { listArtifacts, previewArtifact } from './artifacts.ts';

async function storeWithArtifacts(): Promise<{ store: ArtifactStore; key: string }> {
  const store = new ArtifactStore(mkdtempSync(join(tmpdir(), 'finemed-ui-artifacts-')));
  const recipe = { kind: 'dataset', inputs: {}, config: { count: 3 }, seed: 7 };
  const made = await store.getOrCreate(recipe, async (dir) => {
    const rows = [
      { question: 'Fever and stiff neck?', answer: 'B' },
      { question: 'Chest pain at rest?', answer: 'A', department: 'internal' },
    ];
    writeFileSync(join(dir, 'train.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ hidden_size: 64, layers: 2 }));
    writeFileSync(join(dir, 'scores.csv'), 'stage,accuracy\nsft,0.41\ndpo,0.45\n');
    writeFileSync(join(dir, 'model.safetensors'), Buffer.alloc(16));
    return { rows: 2 };
  });
  await store.getOrCreate({ ...recipe, kind: 'eval' }, async () => ({ accuracy: 0.5 }));
  return { store, key: made.meta.key };
}

describe('listArtifacts(store, kind?)', () => {
  it('lists every artifact with its summary and config, or one kind', async () => {
    const { store, key } = await storeWithArtifacts();
    const all = await listArtifacts(store);
    expect(all.map((a) => a.kind).sort()).toEqual(['dataset', 'eval']);
    const datasets = await listArtifacts(store, 'dataset');
    expect(datasets).toHaveLength(1);
    expect(datasets[0]).toMatchObject({ key, summary: { rows: 2 }, config: { count: 3 } });
  });
});

describe('previewArtifact(store, kind, key)', () => {
  it('reads JSONL and CSV as tables, JSON as a value, and leaves binaries unread', async () => {
    const { store, key } = await storeWithArtifacts();
    const preview = await previewArtifact(store, 'dataset', key);
    const byFile = Object.fromEntries(preview.previews.map((p) => [p.file, p]));
    expect(byFile['train.jsonl']).toEqual({
      file: 'train.jsonl',
      type: 'table',
      columns: ['question', 'answer', 'department'],
      rows: [
        ['Fever and stiff neck?', 'B', null],
        ['Chest pain at rest?', 'A', 'internal'],
      ],
      truncated: false,
    });
    expect(byFile['scores.csv']).toMatchObject({
      type: 'table',
      columns: ['stage', 'accuracy'],
      rows: [
        ['sft', '0.41'],
        ['dpo', '0.45'],
      ],
    });
    expect(byFile['config.json']).toMatchObject({ type: 'json', value: { hidden_size: 64 } });
    expect(byFile['model.safetensors']).toEqual({
      file: 'model.safetensors',
      type: 'binary',
      bytes: 16,
    });
  });

  it('names a missing artifact', async () => {
    const { store } = await storeWithArtifacts();
    await expect(previewArtifact(store, 'dataset', 'deadbeef')).rejects.toThrow(
      'no artifact dataset/deadbeef',
    );
  });
});
