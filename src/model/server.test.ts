import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.ts';
import { StopStrings } from './sampler.ts';
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
    if (words.length > 50)
      throw new InputError('prompt of 51+ tokens exceeds the context of 50', { field: 'prompt' });
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

  it('refuses requests without the right token', async () => {
    const intruder = new OpenAI({ baseURL: server.url, apiKey: 'wrong', maxRetries: 0 });
    await expect(intruder.models.list()).rejects.toMatchObject({
      status: 401,
      code: 'invalid_api_key',
    });
    const res = await fetch(`${server.url}/models`);
    expect(res.status).toBe(401);
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
      message: expect.stringContaining('exceeds the context'),
    });
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
