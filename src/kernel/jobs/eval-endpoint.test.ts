import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../core/artifacts.ts';
import { projectRoot } from '../../core/version.ts';
import { createModel } from '../../model/init.ts';
import { servedModel, startModelServer, type RunningServer } from '../../model-server/server.ts';
import { Kernel } from '../kernel.ts';
import { defaultJobs } from './index.ts';

const medqa = join(projectRoot, 'src', 'eval', 'fixtures', 'medqa.jsonl');
const KEY = 'kernel-endpoint-secret';

/** Every file's text under `dir`. */
function allText(dir: string): string {
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .map((path) => (statSync(path).isDirectory() ? allText(path) : readFileSync(path, 'utf8')))
    .join('\n');
}

describe('wb.evaluate({ endpoint, servedModel }) through the kernel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finemed-eval-endpoint-job-'));
  const model = createModel({ preset: 'tiny', seed: 5, texts: ['Question: Answer: A B C D'] });
  let server: RunningServer;
  let kernel: Kernel;
  beforeAll(async () => {
    // Workers copy the environment when they start: the key is there before any job runs.
    process.env.FINEMED_H17C_TEST_KEY = KEY;
    server = await startModelServer(servedModel(model, 'tiny'), { port: 0, token: KEY });
    kernel = new Kernel({
      store: new ArtifactStore(join(dir, 'store')),
      jobs: defaultJobs(),
      baseDir: dir,
    });
  });
  afterAll(async () => {
    await kernel.close();
    await server.close();
    await model.dispose();
    delete process.env.FINEMED_H17C_TEST_KEY;
  });

  it('scores the served model, reuses the result for the same endpoint and name, never stores the key', async () => {
    const params = {
      endpoint: server.url,
      servedModel: 'tiny',
      apiKeyEnv: 'FINEMED_H17C_TEST_KEY',
      bench: medqa,
      limit: 2,
    };
    const first = await kernel.run('eval', params).result;
    expect(first.summary).toMatchObject({
      format: 'medqa',
      n_scored: 2,
      accuracy: expect.any(Number),
      remote: { endpoint: server.url, served_model: 'tiny' },
    });
    const again = await kernel.run('eval', { ...params, concurrency: 2 }).result;
    expect(again.reused).toBe(true);
    expect(again.artifact.key).toBe(first.artifact.key);
    expect(allText(join(dir, 'store'))).not.toContain(KEY);
  });

  it('an unknown served model fails naming it; model and endpoint together are refused', async () => {
    await expect(
      kernel.run('eval', {
        endpoint: server.url,
        servedModel: 'other',
        apiKeyEnv: 'FINEMED_H17C_TEST_KEY',
        bench: medqa,
        limit: 1,
      }).result,
    ).rejects.toThrow("the model 'other' does not exist; this server serves 'tiny'");
    await expect(kernel.run('eval', { bench: medqa, limit: 1 }).result).rejects.toThrow(
      'give exactly one of model (an artifact) and endpoint (a server URL)',
    );
  });
});
