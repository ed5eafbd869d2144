import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetExhaustedError, ChatClient, LlmRequestError, type ClientSeams } from './client.ts';
import { startFakeLlmServer, type FakeLlmServer, type FaultPlan } from './fake-server.ts';
import type { LlmSettings } from '../presets.ts';

const cacheDir = (): string => mkdtempSync(join(tmpdir(), 'finemed-llm-cache-'));
const ask = (text: string) => ({
  messages: [
    {
      role: 'user' as const,
      content: `Answer the following medical question directly and concisely.\n${text}`,
    },
  ],
});

let server: FakeLlmServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(
  plan: FaultPlan,
  settings: Partial<LlmSettings> = {},
  seams: ClientSeams = {},
) {
  server = await startFakeLlmServer({ plan, retryAfter: '2' });
  const waits: number[] = [];
  const client = new ChatClient(
    {
      baseUrl: server.url,
      model: 'fake',
      cacheDir: cacheDir(),
      timeoutMs: 250,
      backoffMs: 10,
      ...settings,
    },
    { sleep: async (ms) => void waits.push(ms), random: () => 0.5, ...seams },
  );
  return { server, client, waits };
}

describe('ChatClient.complete(request)', () => {
  it('retries 500s and hung requests, then caches the answer', async () => {
    const { server, client } = await setup(({ attempt }) =>
      attempt === 0 ? 'http-500' : attempt === 1 ? 'hang' : 'ok',
    );
    const reply = await client.complete(ask('q1'));
    expect(reply).toMatch(/^A direct answer/);
    expect(client.stats()).toMatchObject({
      requests: 3,
      successes: 1,
      retries: 2,
      timeouts: 1,
      errors: { '500': 1, timeout: 1 },
    });
    expect(server.requests()).toBe(3);
  });

  it('waits as long as Retry-After says after a 429, and backs off exponentially otherwise', async () => {
    const { client, waits } = await setup(({ attempt }) =>
      attempt === 0 ? 'http-429' : attempt < 3 ? 'garbage-body' : 'ok',
    );
    await client.complete(ask('q2'));
    // Retry-After: 2 -> 2000 ms; then backoff 10 * 2^1 and 10 * 2^2, times the jitter factor 0.75.
    expect(waits).toEqual([2000, 15, 30]);
  });

  it('does not retry a 400-class error', async () => {
    const failing = new ChatClient(
      { baseUrl: 'http://127.0.0.1:9/v1', model: 'fake', cacheDir: cacheDir() },
      { fetch: async () => new Response('{"error":"bad"}', { status: 400 }) },
    );
    await expect(failing.complete(ask('q3'))).rejects.toBeInstanceOf(LlmRequestError);
    expect(failing.stats()).toMatchObject({ requests: 1, retries: 0, failures: 1 });
  });

  it('stops at the request budget', async () => {
    const { client } = await setup(() => 'http-500', { maxRequests: 2, maxRetries: 10 });
    await expect(client.complete(ask('q4'))).rejects.toBeInstanceOf(BudgetExhaustedError);
    expect(client.stats()).toMatchObject({ requests: 2, overBudget: 1 });
  });

  it('serves a repeated request from the cache, across clients, without sending it', async () => {
    const { server, client } = await setup(() => 'ok');
    const first = await client.complete(ask('q5'));
    const again = new ChatClient(client.settings);
    expect(await again.complete(ask('q5'))).toBe(first);
    expect(again.stats()).toMatchObject({ requests: 0, cacheHits: 1 });
    expect(server.requests()).toBe(1);
  });

  it('sends identical concurrent requests once', async () => {
    const { server, client } = await setup(() => 'ok');
    const replies = await Promise.all(Array.from({ length: 5 }, () => client.complete(ask('q6'))));
    expect(new Set(replies).size).toBe(1);
    expect(server.requests()).toBe(1);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    await server?.close();
    server = await startFakeLlmServer({ latencyMs: 30 });
    const client = new ChatClient({
      baseUrl: server.url,
      model: 'fake',
      cacheDir: cacheDir(),
      concurrency: 3,
    });
    await Promise.all(Array.from({ length: 12 }, (_, i) => client.complete(ask(`c${i}`))));
    expect(server.requests()).toBe(12);
    expect(server.maxInFlight()).toBe(3);
  });
});

describe('ChatClient authentication', () => {
  it('sends the key from FINEMED_LLM_API_KEY, else OPENAI_API_KEY, as a bearer token', async () => {
    const seen: (string | null)[] = [];
    const fetch = async (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return new Response(JSON.stringify({ choices: [{ message: { content: 'ok' } }] }), {
        status: 200,
      });
    };
    const saved = { ...process.env };
    try {
      process.env.OPENAI_API_KEY = 'sk-openai';
      process.env.FINEMED_LLM_API_KEY = 'sk-finemed';
      await new ChatClient(
        { baseUrl: 'http://127.0.0.1:9/v1', model: 'm', cacheDir: cacheDir() },
        { fetch },
      ).complete(ask('k1'));
      delete process.env.FINEMED_LLM_API_KEY;
      await new ChatClient(
        { baseUrl: 'http://127.0.0.1:9/v1', model: 'm', cacheDir: cacheDir() },
        { fetch },
      ).complete(ask('k2'));
      delete process.env.OPENAI_API_KEY;
      await new ChatClient(
        { baseUrl: 'http://127.0.0.1:9/v1', model: 'm', cacheDir: cacheDir() },
        { fetch },
      ).complete(ask('k3'));
    } finally {
      process.env = saved;
    }
    expect(seen).toEqual(['Bearer sk-finemed', 'Bearer sk-openai', null]);
  });
});
