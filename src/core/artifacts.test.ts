import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore, type ArtifactRecipe } from './artifacts.ts';
import { sha256 } from './hash.ts';

const store = (): ArtifactStore => new ArtifactStore(mkdtempSync(join(tmpdir(), 'finemed-store-')));
const recipe: ArtifactRecipe = {
  kind: 'dataset',
  inputs: { corpus: 'abc123' },
  config: { preset: 'tiny', n: 3 },
  seed: 1,
  codeVersion: 'test',
};

describe('ArtifactStore', () => {
  it('key(recipe) is the same for equal recipes, whatever the key order', () => {
    const s = store();
    const reordered: ArtifactRecipe = {
      seed: 1,
      codeVersion: 'test',
      config: { n: 3, preset: 'tiny' },
      inputs: { corpus: 'abc123' },
      kind: 'dataset',
    };
    expect(s.key(reordered)).toBe(s.key(recipe));
  });

  it('key(recipe) changes with inputs, config, seed and code version', () => {
    const s = store();
    const base = s.key(recipe);
    expect(s.key({ ...recipe, inputs: { corpus: 'abc124' } })).not.toBe(base);
    expect(s.key({ ...recipe, config: { preset: 'tiny', n: 4 } })).not.toBe(base);
    expect(s.key({ ...recipe, seed: 2 })).not.toBe(base);
    expect(s.key({ ...recipe, codeVersion: 'other' })).not.toBe(base);
  });

  it('getOrCreate builds once, records file hashes, then reuses', async () => {
    const s = store();
    let builds = 0;
    const build = async (dir: string): Promise<unknown> => {
      builds++;
      await writeFile(join(dir, 'rows.jsonl'), '{"a":1}\n');
      return { rows: 1 };
    };
    const first = await s.getOrCreate(recipe, build);
    const second = await s.getOrCreate(recipe, build);
    expect(builds).toBe(1);
    expect(first.reused).toBe(false);
    expect(second.reused).toBe(true);
    expect(second.dir).toBe(first.dir);
    expect(first.meta.summary).toEqual({ rows: 1 });
    expect(first.meta.files).toEqual([
      { name: 'rows.jsonl', bytes: 8, sha256: sha256('{"a":1}\n') },
    ]);
    const meta = JSON.parse(readFileSync(join(first.dir, 'meta.json'), 'utf8'));
    expect(meta.recipe.config).toEqual(recipe.config);
  });

  it('a crash between writing and renaming leaves no partial artifact', async () => {
    const s = store();
    await expect(
      s.getOrCreate(recipe, async (dir) => {
        await writeFile(join(dir, 'half.bin'), 'partial');
        throw new Error('simulated crash before rename');
      }),
    ).rejects.toThrow('simulated crash');
    expect(await s.find(recipe)).toBeUndefined();
    expect(existsSync(s.dir(recipe.kind, s.key(recipe)))).toBe(false);
    expect(readdirSync(join(s.root, 'tmp'))).toEqual([]);
  });

  it('a temp folder abandoned by a killed process is invisible and swept', async () => {
    const s = store();
    const abandoned = join(s.root, 'tmp', `dataset-${s.key(recipe)}-dead`);
    await mkdir(abandoned, { recursive: true });
    expect(await s.find(recipe)).toBeUndefined();
    const report = await s.sweep();
    expect(report.removed).toEqual([
      { path: abandoned, reason: 'temporary folder of a writer that is gone' },
    ]);
    expect(report.kept).toEqual([]);
    expect(readdirSync(join(s.root, 'tmp'))).toEqual([]);
  });

  it('a key another process published while we built is reused, ours dropped', async () => {
    const s = store();
    const other = new ArtifactStore(s.root);
    const ours = await s.getOrCreate(recipe, async (dir) => {
      await writeFile(join(dir, 'rows.jsonl'), 'ours\n');
      // The other writer finishes first, so our rename meets a complete artifact.
      await other.getOrCreate(recipe, async (theirs) => {
        await writeFile(join(theirs, 'rows.jsonl'), 'theirs\n');
        return { by: 'them' };
      });
      return { by: 'us' };
    });
    expect(ours.reused).toBe(true);
    expect(ours.meta.summary).toEqual({ by: 'them' });
    expect(readFileSync(join(ours.dir, 'rows.jsonl'), 'utf8')).toBe('theirs\n');
    expect(readdirSync(join(s.root, 'tmp'))).toEqual([]);
  });

  it('a folder at the key that is no artifact fails publishing, naming it', async () => {
    const s = store();
    const squatter = s.dir(recipe.kind, s.key(recipe));
    await mkdir(squatter, { recursive: true });
    await writeFile(join(squatter, 'stray.txt'), 'not an artifact');
    await expect(s.getOrCreate(recipe, async () => undefined)).rejects.toThrow(
      `${squatter} exists but is not a finished artifact (no readable meta.json); remove it`,
    );
    expect(readdirSync(join(s.root, 'tmp'))).toEqual([]);
  });

  it("a running job's work folder survives sweeps; its checkpoints only with resumable", async () => {
    const s = store();
    const key = s.key(recipe);
    const dir = s.workDir('sft', key);
    const running = await s.claimWork('sft', key);
    await writeFile(join(dir, 'step-10.safetensors'), 'weights');
    const during = await s.sweep({ resumable: true });
    expect(during.removed).toEqual([]);
    expect(during.kept).toEqual([
      { path: dir, reason: expect.stringMatching(/^in use by a running job \(lock refreshed/) },
    ]);
    await expect(s.claimWork('sft', key)).rejects.toThrow(
      `job sft/${key} is already running in another process: its work folder ${dir} is owned`,
    );
    await running.release();
    const after = await s.sweep();
    expect(after).toEqual({
      removed: [],
      kept: [{ path: dir, reason: 'checkpoints of an interrupted job', resumable: true }],
    });
    const resumed = await s.sweep({ resumable: true });
    expect(resumed.removed).toEqual([{ path: dir, reason: 'checkpoints of an interrupted job' }]);
    expect(existsSync(dir)).toBe(false);
  });

  it('an empty work folder is swept by default', async () => {
    const s = store();
    const key = s.key(recipe);
    await (await s.claimWork('dpo', key)).release();
    expect((await s.sweep()).removed).toEqual([
      { path: s.workDir('dpo', key), reason: 'empty work folder of an interrupted job' },
    ]);
    expect(readdirSync(join(s.root, 'work'))).toEqual([]);
  });

  it('list() returns finished artifacts', async () => {
    const s = store();
    await s.getOrCreate(recipe, async () => undefined);
    await s.getOrCreate({ ...recipe, seed: 5 }, async () => undefined);
    expect((await s.list('dataset')).length).toBe(2);
    expect((await s.list()).length).toBe(2);
  });
});
