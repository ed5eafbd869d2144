import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../model/init.ts';
import { servedModel, startModelServer, type RunningServer } from '../model-server/server.ts';
import { EndpointError, TokenBudgetError, endpointModel, normalizeEndpoint } from './endpoint.ts';
import { loadBenchmark } from './loaders/load.ts';
import { modelGenerator, modelScorer } from './model-adapter.ts';
import { evaluate } from './run.ts';

const fixture = (name: string): string =>
  join(fileURLToPath(import.meta.url), '..', 'fixtures', name);

const corpus = [
  'Question: Which vitamin deficiency causes scurvy?\nA. Vitamin A\nB. Vitamin C\nAnswer: B',
  'The answer is (C). Iron deficiency gives a low MCV and low ferritin.',
  ...Array<string>(3).fill('Answer: A. Answer: B. Answer: C. Answer: D.'),
];

describe('evaluating a model served by serve-model equals evaluating it locally', () => {
  const model = createModel({ preset: 'tiny', seed: 5, texts: corpus });
  const local = { key: 'local', scorer: modelScorer(model), generator: modelGenerator(model) };
  let server: RunningServer;
  beforeAll(async () => {
    server = await startModelServer(servedModel(model, 'tiny'), { port: 0, token: 'sekret' });
  });
  afterAll(async () => {
    await server.close();
    await model.dispose();
  });
  const served = () =>
    endpointModel({ url: server.url, servedModel: 'tiny', apiKey: 'sekret', concurrency: 3 });

  for (const choiceStyle of ['letter', 'text'] as const) {
    it(`loglik mode (${choiceStyle}s): same choice per item, logprobs within 1e-4`, async () => {
      const bench = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
      const opts = { mode: 'loglik' as const, choiceStyle, shots: 1, batchSize: 2 };
      const remote = served();
      const there = await evaluate(bench, remote, opts);
      const here = await evaluate(bench, local, opts);
      expect(there.records.map((r) => r.prediction)).toEqual(here.records.map((r) => r.prediction));
      there.records.forEach((record, i) => {
        record.scores!.forEach((score, k) => {
          const mine = here.records[i].scores![k];
          expect(Math.abs(score.logprob - mine.logprob)).toBeLessThan(1e-4);
          expect(score.tokens).toBe(mine.tokens);
        });
      });
      expect(there.summary.model).toBe(`remote:${server.url}#tiny`);
      expect(there.summary.accuracy).toBe(here.summary.accuracy);
      expect(remote.client.usage().promptTokens).toBeGreaterThan(0);
    });
  }

  it('generate mode gives the same greedy replies', async () => {
    const bench = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
    const opts = { mode: 'generate' as const, maxTokens: 12, batchSize: 3 };
    const there = await evaluate(bench, served(), opts);
    const here = await evaluate(bench, local, opts);
    expect(there.records.map((r) => r.output)).toEqual(here.records.map((r) => r.output));
    expect(there.records.some((r) => (r.output ?? '').length > 0)).toBe(true);
  });

  it('a wrong key is a clear 401 naming the endpoint', async () => {
    const wrong = endpointModel({ url: server.url, servedModel: 'tiny', apiKey: 'nope' });
    const bench = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
    const run = evaluate(bench, wrong, { limit: 1 });
    await expect(run).rejects.toThrow(EndpointError);
    await expect(run).rejects.toThrow(
      `${server.url}/completions: 401 unauthorized: the API key was refused (set --api-key or OPENAI_API_KEY)`,
    );
  });
});

/** A stand-in server: `answer` decides each request's status and body. */
async function fakeServer(
  answer: (n: number, body: Record<string, unknown>) => [number, unknown, Record<string, string>?],
): Promise<{ url: string; server: Server; bodies: Record<string, unknown>[] }> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      bodies.push(body);
      const [status, json, headers] = answer(bodies.length, body);
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(json));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server, bodies };
}

const reply = (content: string, tokens = 10) => ({
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: tokens - 2, completion_tokens: 2, total_tokens: tokens },
});
const ask = [{ messages: [{ role: 'user' as const, content: 'hi' }], maxTokens: 4 }];

describe('endpoint client: retries, budget, cancel', () => {
  it('retries a 429 (honouring Retry-After) and a 503, then succeeds', async () => {
    const fake = await fakeServer((n) =>
      n === 1
        ? [429, { error: { message: 'slow down' } }, { 'retry-after': '2' }]
        : n === 2
          ? [503, { error: { message: 'loading' } }]
          : [200, reply('The answer is (B).')],
    );
    const waits: number[] = [];
    try {
      const model = endpointModel(
        { url: `${fake.url}/completions/`, servedModel: 'm' },
        { sleep: async (ms) => void waits.push(ms) },
      );
      expect(await model.generator!.generate(ask)).toEqual(['The answer is (B).']);
      expect(waits).toEqual([2000, 1000]);
      expect(model.client.usage()).toMatchObject({ requests: 1, retries: 2, promptTokens: 8 });
      expect(fake.bodies[2]).toMatchObject({ model: 'm', temperature: 0, max_tokens: 4 });
    } finally {
      fake.server.close();
    }
  });

  it('gives up after maxRetries with the last failure, and never retries a 400', async () => {
    const fake = await fakeServer((n) =>
      n <= 3 ? [500, { error: { message: 'boom' } }] : [400, { error: { message: 'bad stop' } }],
    );
    try {
      const seams = { sleep: async () => undefined };
      const model = endpointModel({ url: fake.url, servedModel: 'm', maxRetries: 2 }, seams);
      await expect(model.generator!.generate(ask)).rejects.toThrow(
        `${fake.url}/chat/completions: failed after 3 attempts: 500: boom`,
      );
      await expect(model.generator!.generate(ask)).rejects.toThrow(
        `${fake.url}/chat/completions: 400: bad stop`,
      );
      expect(fake.bodies).toHaveLength(4);
    } finally {
      fake.server.close();
    }
  });

  it('stops with a clear error once the token budget is spent', async () => {
    const fake = await fakeServer(() => [200, reply('ok', 10)]);
    try {
      const model = endpointModel({
        url: fake.url,
        servedModel: 'm',
        tokenBudget: 25,
        concurrency: 1,
      });
      await model.generator!.generate([...ask, ...ask]);
      await expect(model.generator!.generate([...ask, ...ask])).rejects.toThrow(TokenBudgetError);
      await expect(model.generator!.generate(ask)).rejects.toThrow(
        /token budget exceeded at http:\/\/127\.0\.0\.1:\d+\/v1: 30 of 25 tokens spent/,
      );
      // The request that overran was the last one sent.
      expect(fake.bodies).toHaveLength(3);
    } finally {
      fake.server.close();
    }
  });

  it('a cancel stops waiting for a retry', async () => {
    const fake = await fakeServer(() => [503, { error: { message: 'busy' } }]);
    try {
      const controller = new AbortController();
      const model = endpointModel(
        { url: fake.url, servedModel: 'm' },
        {
          sleep: (_ms, signal) =>
            new Promise((_, reject) => {
              signal?.addEventListener('abort', () => reject(signal.reason));
              controller.abort(new Error('user cancelled'));
            }),
        },
      );
      await expect(model.generator!.generate(ask, controller.signal)).rejects.toThrow(
        'user cancelled',
      );
      expect(fake.bodies).toHaveLength(1);
    } finally {
      fake.server.close();
    }
  });

  it('retries a refused connection, then names the endpoint and the cause', async () => {
    const closed = await fakeServer(() => [200, reply('never')]);
    closed.server.close();
    const model = endpointModel(
      { url: closed.url, servedModel: 'm', maxRetries: 1 },
      { sleep: async () => undefined },
    );
    await expect(model.generator!.generate(ask)).rejects.toThrow(
      `${closed.url}/chat/completions: failed after 2 attempts: network error (fetch failed: ECONNREFUSED): is the server running?`,
    );
  });

  it('names a bad endpoint URL', () => {
    expect(normalizeEndpoint('http://h:8000/v1/chat/completions')).toBe('http://h:8000/v1');
    expect(() => normalizeEndpoint('h:8000')).toThrow(/--endpoint: 'h:8000' must be an http/);
    expect(() => normalizeEndpoint('not a url')).toThrow(/--endpoint: 'not a url' is not a URL/);
  });
});
