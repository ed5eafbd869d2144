import { request as httpRequest } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, UsageError } from '../core/errors.ts';
import { StopStrings } from '../model/sampler.ts';
import { ContextLengthError } from './served-model.ts';
import {
  startModelServer,
  type CompletionEvent,
  type CompletionRequest,
  type RunningServer,
  type ServedModel,
} from './server.ts';

/**
 * A stand-in model: it "generates" the prompt's words in reverse order, one word per token, so
 * every response is predictable; it honours maxTokens, stop strings and a context limit.
 */
class ReversingModel implements ServedModel {
  readonly id = 'reverser';
  requests: CompletionRequest[] = [];

  renderChat(messages: { role: string; content: string }[]): string {
    return messages.map((m) => `${m.role}: ${m.content}`).join('\n');
  }

  async *complete(request: CompletionRequest): AsyncGenerator<CompletionEvent> {
    this.requests.push(request);
    const words = request.prompt.split(/\s+/).filter(Boolean);
    if (words.length === 0)
      throw new InputError('prompt must have at least one token', { field: 'prompt' });
    if (words.includes('OOV'))
      throw new InputError('token id 99999 is outside the vocabulary', { field: 'prompt' });
    if (words.length > 50) throw new ContextLengthError(words.length, 50);
    // A fault of the model, not of the request (V8 throws RangeErrors of its own).
    if (words.includes('BUG')) throw new RangeError('Invalid array length');
    const out = [...words].reverse();
    const stops = new StopStrings(request.stop);
    let produced = 0;
    for (const word of out) {
      if (produced === request.maxTokens || stops.done || request.signal.aborted) break;
      produced++;
      const text = stops.push(`${word} `);
      if (text) yield { type: 'text', text };
    }
    if (!stops.done) yield { type: 'text', text: stops.flush() };
    const finishReason = stops.done || produced === out.length ? 'stop' : 'length';
    yield { type: 'done', finishReason, promptTokens: words.length, completionTokens: produced };
  }
}

/** A raw request, so the test sets every header (fetch forbids setting Host). */
function send(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('startModelServer with the openai client on a real port', () => {
  const model = new ReversingModel();
  let server: RunningServer;
  let client: OpenAI;

  beforeAll(async () => {
    server = await startModelServer(model, { port: 0, token: 'sekret' });
    client = new OpenAI({ baseURL: server.url, apiKey: 'sekret', maxRetries: 0 });
  });
  afterAll(() => server.close());

  it('binds 127.0.0.1 by default and lists the model', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['reverser']);
  });

  it('chat completion (non-streaming) returns the message, finish_reason and usage', async () => {
    const reply = await client.chat.completions.create({
      model: 'reverser',
      messages: [{ role: 'user', content: 'one two three' }],
      temperature: 0,
      seed: 7,
    });
    expect(reply.choices[0].message).toMatchObject({
      role: 'assistant',
      content: 'three two one user: ',
    });
    expect(reply.choices[0].finish_reason).toBe('stop');
    expect(reply.usage).toEqual({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
    expect(model.requests.at(-1)!.sampling).toMatchObject({ temperature: 0, seed: 7, topP: 1 });
  });

  it('chat completion streams deltas that add up, then usage when asked', async () => {
    const stream = await client.chat.completions.create({
      model: 'reverser',
      messages: [{ role: 'user', content: 'a b c d e f' }],
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const finishes: (string | null)[] = [];
    let usage;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? '';
        finishes.push(choice.finish_reason);
      }
    }
    expect(text).toBe('f e d ');
    expect(finishes.at(-1)).toBe('length');
    expect(usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
  });

  it('completions honour stop strings, streaming and not', async () => {
    const whole = await client.completions.create({
      model: 'reverser',
      prompt: 'x y STOP z',
      stop: ['STOP'],
      max_tokens: 10,
    });
    expect(whole.choices[0].text).toBe('z ');
    expect(whole.choices[0].finish_reason).toBe('stop');
    const stream = await client.completions.create({
      model: 'reverser',
      prompt: 'p q r',
      max_tokens: 2,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe('r q ');
  });

  it("refuses requests without the right token with a 401 in OpenAI's error shape", async () => {
    const intruder = new OpenAI({ baseURL: server.url, apiKey: 'wrong', maxRetries: 0 });
    await expect(intruder.models.list()).rejects.toMatchObject({
      status: 401,
      type: 'invalid_request_error',
      code: 'invalid_api_key',
    });
    const res = await fetch(`${server.url}/models`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: {
        message:
          "a token is required: send the server's token as the API key (Authorization: Bearer <token>)",
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
    const inQuery = await fetch(`${server.url}/models?token=sekret`);
    expect(inQuery.status).toBe(401);
  });

  it('refuses a foreign Origin or Host with a 403 even with the token, and sends no CORS header', async () => {
    const port = server.port;
    const auth = { authorization: 'Bearer sekret' };
    const ok = await send(port, '/v1/models', { host: `localhost:${port}`, ...auth });
    expect(ok.status).toBe(200);
    const page = await send(port, '/v1/chat/completions', {
      host: `127.0.0.1:${port}`,
      origin: 'https://evil.example',
      'content-type': 'text/plain',
      ...auth,
    });
    expect(page.status).toBe(403);
    expect(JSON.parse(page.body).error).toMatchObject({
      message: "cross-origin request from 'https://evil.example' refused",
      code: 'forbidden',
    });
    expect(page.headers['access-control-allow-origin']).toBeUndefined();
    // A DNS-rebinding page reaches 127.0.0.1 under its own name.
    const rebound = await send(port, '/v1/models', { host: `evil.example:${port}`, ...auth });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).error.message).toBe(
      `host 'evil.example:${port}' is not this server`,
    );
  });

  it('answers bad requests with a 400 naming the field', async () => {
    await expect(
      client.chat.completions.create({
        model: 'reverser',
        messages: [{ role: 'user', content: 'hi' }],
        n: 2,
      }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'n',
      message: expect.stringContaining('only n=1'),
    });
    await expect(
      client.chat.completions.create({
        model: 'reverser',
        messages: [{ role: 'user', content: 'x' }],
        temperature: 3,
      }),
    ).rejects.toMatchObject({ status: 400, param: 'temperature' });
    await expect(client.completions.create({ model: 'other', prompt: 'x' })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    const long = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    await expect(
      client.completions.create({ model: 'reverser', prompt: long }),
    ).rejects.toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      param: 'prompt',
      code: 'context_length_exceeded',
      message: expect.stringContaining("the prompt has 60 tokens and the model's context is 50"),
    });
    const chatTooLong = client.chat.completions.create({
      model: 'reverser',
      messages: [{ role: 'user', content: long }],
    });
    await expect(chatTooLong).rejects.toMatchObject({
      param: 'messages',
      code: 'context_length_exceeded',
    });
    // Bad input that is not about length is not reported as a context overflow.
    for (const [prompt, message] of [
      ['', 'prompt must have at least one token'],
      ['a OOV b', 'token id 99999 is outside the vocabulary'],
    ]) {
      await expect(client.completions.create({ model: 'reverser', prompt })).rejects.toMatchObject({
        status: 400,
        type: 'invalid_request_error',
        param: 'prompt',
        code: null,
        message: expect.stringContaining(`prompt: ${message}`),
      });
    }
    await expect(
      client.completions.create({ model: 'reverser', prompt: 'a BUG' }),
    ).rejects.toMatchObject({ status: 500, type: 'server_error', param: null, code: null });
    const res = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sekret' },
      body: '{not json',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /not valid JSON/,
    );
  });
});

describe('startModelServer access defaults', () => {
  it('makes up a random token when given none, and the openai client works with it', async () => {
    const server = await startModelServer(new ReversingModel(), { port: 0 });
    try {
      expect(server.token).toMatch(/^[\w-]{32}$/);
      expect((await fetch(`${server.url}/models`)).status).toBe(401);
      const client = new OpenAI({ baseURL: server.url, apiKey: server.token!, maxRetries: 0 });
      expect((await client.models.list()).data[0].id).toBe('reverser');
    } finally {
      await server.close();
    }
  });

  it('serves a loopback address without a token only when asked to, never another address', async () => {
    const open = await startModelServer(new ReversingModel(), { port: 0, token: null });
    try {
      expect(open.token).toBeNull();
      expect((await fetch(`${open.url}/models`)).status).toBe(200);
      const page = await send(open.port, '/v1/models', {
        host: `127.0.0.1:${open.port}`,
        origin: 'https://evil.example',
      });
      expect(page.status).toBe(403);
    } finally {
      await open.close();
    }
    const remote = startModelServer(new ReversingModel(), {
      host: '0.0.0.0',
      port: 0,
      token: null,
    });
    await expect(remote).rejects.toThrow(UsageError);
    await expect(remote).rejects.toThrow(
      'refusing to serve on non-loopback address 0.0.0.0 without a token',
    );
  });
});
