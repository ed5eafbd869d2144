import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Rng } from '../core/rng.ts';
import { loadModel, type CausalLM, type ScoredSequence } from './causal-lm.ts';

const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');

/** Per-token log-softmax and argmax flags of `item` alone, from the full logits of its sequence. */
async function alone(model: CausalLM, item: ScoredSequence) {
  const seq = [...item.prompt, ...item.completion];
  const { data } = await model.logits([seq]);
  const V = model.config.vocabSize;
  return item.completion.map((id, k) => {
    const row = data.subarray((item.prompt.length - 1 + k) * V, (item.prompt.length + k) * V);
    const max = Math.max(...row);
    const logZ = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    return { logprob: row[id] - logZ, greedy: row[id] === max };
  });
}

/** The greedy continuation of `prompt`, `n` tokens, from full-logits forwards. */
async function greedyTokens(model: CausalLM, prompt: number[], n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = await model.nextTokenLogits([...prompt, ...out]);
    out.push(row.indexOf(Math.max(...row)));
  }
  return out;
}

describe.each(['qwen2_gqa_untied', 'llama3_scaled_tied'])('sequenceLogprobs: %s', (name) => {
  let model: CausalLM;
  afterAll(() => model?.dispose());

  it('shared prompts run once and give what each item alone gives (1e-4, greedy flags)', async () => {
    model = await loadModel(join(fixtures, name), { session: { threads: 1 } });
    const rng = new Rng(`prefix-${name}`);
    const tokens = (n: number) => Array.from({ length: n }, () => rng.int(model.config.vocabSize));
    const items: ScoredSequence[] = [];
    // Four groups sharing a prompt (lengths 1, 2, 7, 20), options of 1-5 tokens, one of them
    // the greedy continuation; interleaved with unshared items.
    for (const length of [1, 2, 7, 20]) {
      const prompt = tokens(length);
      items.push({ prompt, completion: await greedyTokens(model, prompt, 3) });
      for (let k = 0; k < 4; k++) {
        items.push({ prompt, completion: tokens(1 + rng.int(5)) });
        items.push({ prompt: tokens(1 + rng.int(12)), completion: tokens(1 + rng.int(4)) });
      }
    }
    const many = tokens(9);
    for (let k = 0; k < 70; k++) items.push({ prompt: many, completion: tokens(1 + (k % 3)) });
    const pasts: number[] = [];
    const compiled = model.compiled.bind(model);
    const spy = vi.spyOn(model, 'compiled').mockImplementation(async () => {
      const c = await compiled();
      const run: typeof c.session.run = (feeds, fetch) => {
        pasts.push(Number(feeds['past.0.key'].dims[2]));
        return c.session.run(feeds, fetch);
      };
      return { ...c, session: Object.assign(Object.create(c.session), { run }) };
    });
    const got = await model.sequenceLogprobs(items);
    spy.mockRestore();
    // Prompts of 2, 7, 20 and 9 tokens are prefilled once each (all but their last token);
    // the 70 options after one prompt fill two batches.
    expect(pasts.filter((p) => p > 0).sort((a, b) => a - b)).toEqual([1, 6, 8, 8, 19]);
    expect(pasts.filter((p) => p === 0).length).toBeLessThanOrEqual(6);
    let greedySeen = 0;
    for (const [i, item] of items.entries()) {
      const want = await alone(model, item);
      expect(got[i].count).toBe(item.completion.length);
      got[i].tokens.forEach((lp, k) => expect(Math.abs(lp - want[k].logprob)).toBeLessThan(1e-4));
      expect(Math.abs(got[i].sum - want.reduce((s, w) => s + w.logprob, 0))).toBeLessThan(1e-4);
      expect(got[i].greedy).toBe(want.every((w) => w.greedy));
      if (got[i].greedy) greedySeen++;
    }
    expect(greedySeen).toBeGreaterThanOrEqual(4);
  });

  it('nextTokenLogits equals the last row of logits()', async () => {
    const ids = [5, 3, 8, 13, 21];
    const { data } = await model.logits([ids]);
    const V = model.config.vocabSize;
    const last = await model.nextTokenLogits(ids);
    const want = data.subarray((ids.length - 1) * V);
    expect(Math.max(...last.map((x, v) => Math.abs(x - want[v])))).toBeLessThan(1e-5);
  });
});
