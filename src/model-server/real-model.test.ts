import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../model/init.ts';
import { renderChat } from '../model/text-generation.ts';
import { servedModel, startModelServer, type RunningServer } from './server.ts';

const corpus = [
  'Fever is a raised body temperature. Rest and fluids help.',
  'Anemia means too few red blood cells; iron can help.',
  '<|im_start|>user\nWhat is fever?<|im_end|>\n<|im_start|>assistant\nA raised temperature.<|im_end|>',
];

describe('serving a real (tiny, random) model to the openai client', () => {
  const model = createModel({ preset: 'tiny', seed: 1, texts: corpus });
  let server: RunningServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await startModelServer(servedModel(model, 'tiny'), { port: 0 });
    client = new OpenAI({ baseURL: server.url, apiKey: server.token!, maxRetries: 0 });
  });
  afterAll(async () => {
    await server.close();
    await model.dispose();
  });

  it('answers chat requests, streaming and not, with the same greedy text', async () => {
    const messages = [{ role: 'user' as const, content: 'What is fever?' }];
    const whole = await client.chat.completions.create({
      model: 'tiny',
      messages,
      temperature: 0,
      max_tokens: 10,
    });
    const stream = await client.chat.completions.create({
      model: 'tiny',
      messages,
      temperature: 0,
      max_tokens: 10,
      stream: true,
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toBe(whole.choices[0].message.content);
    const promptTokens = model.tokenizer!.encodeChat(messages, {
      addGenerationPrompt: true,
    }).length;
    expect(whole.usage!.prompt_tokens).toBe(promptTokens);
    expect(renderChat(model.tokenizer!, messages)).toBe(
      '<|im_start|>user\nWhat is fever?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('reports an over-long prompt as context_length_exceeded and an empty one as a plain bad request', async () => {
    const tooLong = 'fever '.repeat(600);
    const tokens = model.tokenizer!.encode(tooLong).length;
    expect(tokens).toBeGreaterThanOrEqual(model.config.maxPositions);
    await expect(
      client.completions.create({ model: 'tiny', prompt: tooLong }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'prompt',
      code: 'context_length_exceeded',
      message: expect.stringContaining(
        `the prompt has ${tokens} tokens and the model's context is ${model.config.maxPositions}`,
      ),
    });
    await expect(client.completions.create({ model: 'tiny', prompt: '' })).rejects.toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      param: 'prompt',
      code: null,
      message: expect.stringContaining('prompt must have at least one token'),
    });
  });
});
