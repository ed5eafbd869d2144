import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { createModel } from '../model/init.ts';
import { servedModel, startModelServer, type RunningServer } from '../model-server/server.ts';
import { runCli as run } from './testing.ts';

const fixture = (name: string): string => join(projectRoot, 'src', 'eval', 'fixtures', name);

/** Every file's text under `dir`. */
function allText(dir: string): string {
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .map((path) => (statSync(path).isDirectory() ? allText(path) : readFileSync(path, 'utf8')))
    .join('\n');
}

describe('finemed eval --endpoint', () => {
  const home = mkdtempSync(join(tmpdir(), 'finemed-eval-endpoint-'));
  const model = createModel({ preset: 'tiny', seed: 5, texts: ['Question: Answer: A B C D'] });
  const saved = { home: process.env.FINEMED_HOME, key: process.env.OPENAI_API_KEY };
  let server: RunningServer;

  beforeAll(async () => {
    process.env.FINEMED_HOME = home;
    server = await startModelServer(servedModel(model, 'tiny'), {
      port: 0,
      token: 'the-secret-key',
    });
  });
  afterAll(async () => {
    await server.close();
    await model.dispose();
    for (const [name, value] of [
      ['FINEMED_HOME', saved.home],
      ['OPENAI_API_KEY', saved.key],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('scores a served model with the key from OPENAI_API_KEY, stores a remote result without the key', async () => {
    process.env.OPENAI_API_KEY = 'the-secret-key';
    const args = ['eval', '--endpoint', server.url, '--served-model', 'tiny'];
    const result = await run([...args, '--bench', fixture('medqa.jsonl'), '--json']);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.out.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(summary).toMatchObject({
      format: 'medqa',
      model: `remote:${server.url}#tiny`,
      remote: { endpoint: server.url, served_model: 'tiny' },
      reused: false,
    });
    expect(summary.n_scored).toBeGreaterThan(0);
    expect(result.err).toContain('can be recomputed only while that server serves the same model');
    expect(allText(summary.dir as string)).not.toContain('the-secret-key');
    expect(allText(home)).not.toContain('the-secret-key');
    delete process.env.OPENAI_API_KEY;
    const refused = await run([...args, '--bench', fixture('medqa.jsonl'), '--limit', '1']);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain(`${server.url}/completions: 401 unauthorized`);
  });

  it('asks for exactly one of --model and --endpoint, and a served model name', async () => {
    const bench = ['--bench', fixture('medqa.jsonl')];
    const neither = await run(['eval', ...bench]);
    expect(neither.code).toBe(2);
    expect(neither.err).toContain('give exactly one of --model DIR and --endpoint URL');
    const both = await run(['eval', '--model', home, '--endpoint', server.url, ...bench]);
    expect(both.err).toContain('give exactly one of --model DIR and --endpoint URL');
    const unnamed = await run(['eval', '--endpoint', server.url, ...bench]);
    expect(unnamed.err).toContain('--endpoint needs --served-model NAME');
  });
});
