import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../model/init.ts';
import { servedModel, startModelServer, type RunningServer } from './server.ts';

const corpus = [
  'Fever is a raised body temperature. Rest and fluids help.',
  'Anemia means too few red blood cells; iron can help.',
];

/** The parts of a completion response (or error) the tests read. */
interface CompletionBody {
  choices: {
    index: number;
    text: string;
    logprobs: {
      tokens: string[];
      token_logprobs: (number | null)[];
      top_logprobs: (Record<string, number> | null)[];
      text_offset: number[];
    };
  }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  error: { message: string; param: string | null };
}

/** Posts a completion request and returns the status and JSON body. */
async function complete(server: RunningServer, body: unknown) {
  const res = await fetch(`${server.url}/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', ...(body as object) }),
  });
  return { status: res.status, body: (await res.json()) as CompletionBody };
}

describe('serve-model /v1/completions with echo and logprobs (vLLM shape)', () => {
  const model = createModel({ preset: 'tiny', seed: 1, texts: corpus });
  let server: RunningServer;
  beforeAll(async () => {
    server = await startModelServer(servedModel(model, 'tiny'), { port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await model.dispose();
  });

  it('echoes the prompt with tokens, token_logprobs (null first), top_logprobs and text_offset', async () => {
    const prompt = 'Fever is a raised';
    const { status, body } = await complete(server, {
      prompt,
      echo: true,
      logprobs: 2,
      max_tokens: 1,
      temperature: 0,
    });
    expect(status).toBe(200);
    const choice = body.choices[0];
    const ids = model.tokenizer!.encode(prompt);
    const lp = choice.logprobs;
    expect(lp.tokens).toHaveLength(ids.length + 1);
    expect(lp.tokens.slice(0, ids.length).join('')).toBe(prompt);
    expect(choice.text.startsWith(prompt)).toBe(true);
    expect(lp.token_logprobs[0]).toBeNull();
    expect(lp.top_logprobs[0]).toBeNull();
    // Each offset is where the token's text sits in the choice's text.
    lp.tokens.forEach((token, i) =>
      expect(choice.text.slice(lp.text_offset[i], lp.text_offset[i] + token.length)).toBe(token),
    );
    // The logprobs are the model's own: the same as scoring the prompt's tail locally.
    const [local] = await model.sequenceLogprobs([
      { prompt: ids.slice(0, 1), completion: ids.slice(1) },
    ]);
    local.tokens.forEach((l, i) => expect(lp.token_logprobs[i + 1]).toBeCloseTo(l, 4));
    // The generated token is greedy: its logprob is the best of its top_logprobs.
    const last = lp.top_logprobs.at(-1)!;
    expect(Object.keys(last).length).toBeGreaterThanOrEqual(2);
    expect(lp.token_logprobs.at(-1)).toBeCloseTo(Math.max(...Object.values(last)), 6);
    expect(body.usage).toEqual({
      prompt_tokens: ids.length,
      completion_tokens: 1,
      total_tokens: ids.length + 1,
    });
  });

  it('takes several prompts and token-id prompts (as lm-evaluation-harness sends them), max_tokens 0 with echo', async () => {
    const ids = model.tokenizer!.encode('Anemia means');
    const { status, body } = await complete(server, {
      prompt: [ids, [...ids, ...model.tokenizer!.encode(' too')]],
      echo: true,
      logprobs: 0,
      max_tokens: 0,
    });
    expect(status).toBe(200);
    expect(body.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(body.choices[0].text).toBe('Anemia means');
    expect(body.choices[0].logprobs.tokens).toHaveLength(ids.length);
    expect(body.choices[1].logprobs.token_logprobs.slice(0, ids.length)).toEqual(
      body.choices[0].logprobs.token_logprobs,
    );
    expect(body.usage.completion_tokens).toBe(0);
  });

  it("answers lm-evaluation-harness's local-completions request: sum(token_logprobs[ctxlen:-1]) is the local log-likelihood", async () => {
    const tokenizer = model.tokenizer!;
    const context = tokenizer.encode('Fever is');
    const continuation = tokenizer.encode(' a raised body');
    const { status, body } = await complete(server, {
      prompt: [[...context, ...continuation]],
      max_tokens: 1,
      temperature: 0,
      logprobs: 1,
      seed: 1234,
      echo: true,
    });
    expect(status).toBe(200);
    const lp = body.choices[0].logprobs;
    const scored = lp.token_logprobs.slice(context.length, -1) as number[];
    const tops = lp.top_logprobs.slice(context.length, -1);
    const [local] = await model.sequenceLogprobs([{ prompt: context, completion: continuation }]);
    expect(scored).toHaveLength(continuation.length);
    expect(scored.reduce((a, b) => a + b, 0)).toBeCloseTo(local.sum, 4);
    const greedy = scored.every((l, k) => l === Math.max(...Object.values(tops[k]!)));
    expect(greedy).toBe(local.greedy);
  });

  it('gives logprobs of generated tokens only without echo, and refuses what it cannot do', async () => {
    const plain = await complete(server, { prompt: 'Rest and', max_tokens: 3, temperature: 0 });
    const scored = await complete(server, {
      prompt: 'Rest and',
      max_tokens: 3,
      temperature: 0,
      logprobs: 1,
    });
    expect(scored.body.choices[0].text).toBe(plain.body.choices[0].text);
    const lp = scored.body.choices[0].logprobs;
    expect(lp.token_logprobs.every((l) => typeof l === 'number')).toBe(true);
    expect(lp.text_offset[0]).toBe(0);
    const streamed = await complete(server, { prompt: 'x', echo: true, stream: true });
    expect(streamed.status).toBe(400);
    expect(streamed.body.error.message).toMatch(/streaming is not supported with echo/);
    const noEcho = await complete(server, { prompt: 'x', max_tokens: 0 });
    expect(noEcho.body.error).toMatchObject({ param: 'max_tokens' });
    const badId = await complete(server, { prompt: [1, 99999], echo: true, max_tokens: 0 });
    expect(badId.status).toBe(400);
    expect(badId.body.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'prompt',
      code: null,
      message: expect.stringMatching(/^prompt: token id 99999 is outside the vocabulary/),
    });
    const secondBad = await complete(server, { prompt: [[1, 2], [99999]], echo: true });
    expect(secondBad.body.error).toMatchObject({
      param: 'prompt.1',
      code: null,
      message: expect.stringMatching(/^prompt\.1: token id 99999/),
    });
  });
});
