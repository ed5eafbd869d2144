import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../core/artifacts.ts';
import { runCli as cli } from './testing.ts';

describe('finemed artifacts --sweep', () => {
  it('prints what it removed and what it kept; --sweep-resumable also removes checkpoints', async () => {
    const home = mkdtempSync(join(tmpdir(), 'finemed-cli-sweep-'));
    const store = new ArtifactStore(home);
    const leftover = join(home, 'tmp', 'dataset-0123456789abcdef-dead');
    mkdirSync(leftover, { recursive: true });
    const key = '0123456789abcdef0123456789abcdef';
    const checkpoints = store.workDir('sft', key);
    mkdirSync(checkpoints, { recursive: true });
    writeFileSync(join(checkpoints, 'step-4.safetensors'), 'weights');
    const running = await store.claimWork('dpo', key);
    try {
      const first = await cli(['artifacts', '--sweep'], { FINEMED_HOME: home });
      expect(first.code).toBe(0);
      expect(first.err).toContain(
        `removed ${leftover}: temporary folder of a writer that is gone\n`,
      );
      expect(first.err).toContain(
        `kept    ${checkpoints}: checkpoints of an interrupted job (a re-run resumes from them; --sweep-resumable deletes them)\n`,
      );
      expect(first.err).toMatch(
        new RegExp(
          `kept    ${store.workDir('dpo', key)}: in use by a running job \\(lock refreshed \\d+ s ago\\)\n`,
        ),
      );
      expect(first.err).toContain('swept: removed 1 folder(s), kept 2\n');
      const second = await cli(['artifacts', '--sweep-resumable'], { FINEMED_HOME: home });
      expect(second.err).toContain(`removed ${checkpoints}: checkpoints of an interrupted job\n`);
      expect(second.err).toContain('swept: removed 1 folder(s), kept 1\n');
      expect(readdirSync(join(home, 'work')).sort()).toEqual([`dpo-${key}`, `dpo-${key}.lock`]);
    } finally {
      await running.release();
    }
  });
});
