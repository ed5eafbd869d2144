import { afterAll, describe, expect, it } from 'vitest';
import { createModel } from './init.ts';
import { streamText, type CompletionEvent } from './text-generation.ts';

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
