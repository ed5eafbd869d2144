import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../model/init.ts';
import { servedModel, startModelServer, type RunningServer } from '../../model-server/server.ts';
import type { CausalLM } from '../../model/causal-lm.ts';
import type { SynthesisOptions } from '../presets.ts';
import { synthesize } from '../synthesize.ts';
import { ChatClient } from './client.ts';

/**
 * The workbench's own OpenAI-compatible server over a real (randomly initialised, tiny)
 * model: its replies are gibberish, so the point is the protocol and the accounting, not
 * the content. The client sends the server's token as its API key, as any OpenAI client does.
 */
describe('the LLM synthesizer against the workbench model server', () => {
  let model: CausalLM;
  let server: RunningServer;
  beforeAll(async () => {
    const texts = (
      await synthesize({ preset: 'tiny', conditions: 4, passages: 40, evalItems: 4 })
    ).pretrain.map((r) => r.text);
    model = createModel({ preset: 'tiny', seed: 1, texts });
    server = await startModelServer(servedModel(model, 'tiny-random'), { port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await model.dispose();
  });

  it('gets replies through the chat API and caches them', async () => {
    const client = new ChatClient({
      baseUrl: server.url,
      apiKey: server.token!,
      model: 'tiny-random',
      cacheDir: mkdtempSync(join(tmpdir(), 'finemed-ms-')),
    });
    const request = {
      messages: [{ role: 'user' as const, content: 'What is fever?' }],
      max_tokens: 8,
      temperature: 0,
    };
    const reply = await client.complete(request);
    expect(typeof reply).toBe('string');
    expect(await client.complete(request)).toBe(reply);
    expect(client.stats()).toMatchObject({ requests: 1, successes: 1, cacheHits: 1 });
  });

  it('runs the pipeline to the end, counting unparseable replies and rejected requests per stage, and resumes from the cache', async () => {
    const options: SynthesisOptions = {
      preset: 'tiny',
      conditions: 4,
      passages: 8,
      evalItems: 4,
      llm: {
        baseUrl: server.url,
        apiKey: server.token!,
        model: 'tiny-random',
        cacheDir: mkdtempSync(join(tmpdir(), 'finemed-ms-')),
        maxTokens: 24,
        backoffMs: 1,
      },
    };
    const first = await synthesize(options);
    const { counts, rejects } = first.report;
    const stats = first.report.backend as {
      successes: number;
      requests: number;
      parseFailures: { instructions?: { failed: number } };
    };
    expect(counts.texts).toBe(8);
    expect(counts.rejected + counts.selected + counts.droppedBothMentionDetails).toBe(8);
    expect(rejects.instructions).toBeDefined();
    expect(stats.successes).toBeGreaterThan(0);
    expect(stats.parseFailures.instructions?.failed).toBeGreaterThan(0);
    const second = await synthesize(options);
    const again = second.report.backend as { cacheHits: number; successes: number };
    expect(again.cacheHits).toBe(stats.successes);
    expect(again.successes).toBe(0);
  });
});
