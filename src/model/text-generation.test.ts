import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel } from './init.ts';
import { startModelServer } from './server.ts';
import { renderChat, servedModel, streamText } from './text-generation.ts';
import type { CompletionEvent } from './server-api.ts';

const corpus = [
  'Fever is a raised body temperature. Rest and fluids help.',
  'Anemia means too few red blood cells; iron can help.',
  '<|im_start|>user\nWhat is fever?<|im_end|>\n<|im_start|>assistant\nA raised temperature.<|im_end|>',
];
const model = createModel({ preset: 'tiny', seed: 1, texts: corpus });
afterAll(() => model.dispose());

async function collect(
  events: AsyncIterable<CompletionEvent>,
): Promise<{ text: string; done: CompletionEvent }> {
  let text = '';
  let done: CompletionEvent | undefined;
  for await (const e of events) {
    if (e.type === 'text') text += e.text;
    else done = e;
  }
  return { text, done: done! };
}

describe('streamText', () => {
  it('decodes exactly the generated tokens and counts them', async () => {
    const prompt = model.tokenizer!.encode('Fever is');
    const ids: number[] = [];
    for await (const t of model.generate(prompt, { maxTokens: 12, stopTokenIds: [] })) ids.push(t);
    const { text, done } = await collect(
      streamText(model, prompt, { maxTokens: 12, stopTokenIds: [] }),
    );
    expect(text).toBe(model.tokenizer!.decode(ids, { skipSpecialTokens: true }));
    expect(done).toMatchObject({
      type: 'done',
      promptTokens: prompt.length,
      completionTokens: ids.length,
    });
  });

  it('cuts at a stop string and reports finish_reason stop', async () => {
    const prompt = model.tokenizer!.encode('Anemia');
    const full = (await collect(streamText(model, prompt, { maxTokens: 16 }))).text;
    expect(full.length).toBeGreaterThan(4);
    const stop = full.slice(2, 4);
    const cut = await collect(streamText(model, prompt, { maxTokens: 16, stop: [stop] }));
    expect(cut.text).toBe(full.slice(0, full.indexOf(stop)));
    expect(cut.done).toMatchObject({ finishReason: 'stop' });
  });
});

describe('serving a real model to the openai client', () => {
  it('answers chat requests, streaming and not, with the same greedy text', async () => {
    const server = await startModelServer(servedModel(model, 'tiny'), { port: 0 });
    try {
      const client = new OpenAI({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 });
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
      const tooLong = 'fever '.repeat(600);
      await expect(
        client.completions.create({ model: 'tiny', prompt: tooLong }),
      ).rejects.toMatchObject({ status: 400 });
    } finally {
      await server.close();
    }
  });
});
