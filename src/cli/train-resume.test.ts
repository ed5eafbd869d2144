import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chatRows, clinicModel } from '../train/fixtures/clinic.ts';
import { runCli as run } from './testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-cli-resume-'));
const modelDir = join(dir, 'model');
const data = join(dir, 'sft.jsonl');

beforeAll(async () => {
  writeFileSync(
    data,
    chatRows(16)
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  const model = clinicModel(5);
  await model.save(modelDir);
  await model.dispose();
});

describe('finemed train sft --resume', () => {
  it('says which checkpoint it continues from, after skipping a damaged one and a dead write', async () => {
    const out = join(dir, 'sft');
    const args = ['train', 'sft', '--model', modelDir, '--data', data, '--out', out];
    const flags = ['--preset', 'tiny', '--threads', '2', '--batch-size', '4', '--save-every', '2'];
    const first = await run([...args, ...flags, '--max-steps', '6']);
    expect(first.code, first.err).toBe(0);
    // A run killed while writing checkpoint-6's optimizer state, and one killed mid-rename.
    truncateSync(join(out, 'checkpoint-6', 'optimizer.bin'), 100);
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const stale = `.tmp-checkpoint-6-${deadPid}-0a1b2c3d`;
    mkdirSync(join(out, stale));

    const resumed = await run([...args, ...flags, '--max-steps', '6', '--resume']);
    expect(resumed.code, resumed.err).toBe(0);
    const lines = resumed.err.split('\n');
    expect(lines).toContain(
      `removed ${stale}, the unfinished checkpoint of a run that was stopped`,
    );
    const damaged = join(out, 'checkpoint-6', 'optimizer.bin');
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^skipping damaged checkpoint-6 \\(${damaged}: holds 100 bytes; the trainable parameters need \\d+\\); moved to checkpoint-6\\.damaged$`,
        ),
      ),
    );
    expect(lines).toContain('resuming from checkpoint-4 (step 4 of 6)');
    expect(existsSync(join(out, stale))).toBe(false);
    // The resumed run wrote checkpoint-6 again, whole.
    expect(existsSync(join(out, 'checkpoint-6', 'optimizer.bin'))).toBe(true);
    expect(existsSync(join(out, 'checkpoint-6.damaged'))).toBe(true);
  });
});
