import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Rng } from '../core/rng.ts';
import { loadModel, type CausalLM, type ScoredSequence } from './causal-lm.ts';
import { scoreSequences } from './prefix-scoring.ts';

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

/**
 * Prompt lengths of the cached keys/values each run was fed (0: none) while `run` scores, and
 * its results.
 */
async function withPasts<T>(model: CausalLM, run: () => Promise<T>): Promise<[T, number[]]> {
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
  try {
    return [await run(), pasts];
  } finally {
    spy.mockRestore();
  }
}

describe.each(['qwen2_gqa_untied', 'llama3_scaled_tied'])('sequenceLogprobs: %s', (name) => {
  let model: CausalLM;
  afterAll(() => model?.dispose());

  /** Four groups sharing a prompt (lengths 1, 2, 7, 20) with options of 1-5 tokens, one of them the greedy continuation, interleaved with unshared items; then 70 options of 1-3 tokens after one 9-token prompt. */
  async function mixedItems(): Promise<ScoredSequence[]> {
    const rng = new Rng(`prefix-${name}`);
    const tokens = (n: number) => Array.from({ length: n }, () => rng.int(model.config.vocabSize));
    const items: ScoredSequence[] = [];
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
    return items;
  }

  it.each([
    // Prefill: prompts of 2, 7, 20 and 9 tokens, all but their last token (the 70 options: two batches).
    [false, [1, 6, 8, 8, 19], 6],
    // One pass per shared prompt (no past), then the continuations past their first token on top.
    [true, [1, 2, 7, 9, 20], 11],
  ])(
    'onePass %s: shared prompts run once, as each item alone (1e-4, greedy flags)',
    async (onePass, cached, fresh) => {
      model ??= await loadModel(join(fixtures, name), { session: { threads: 1 } });
      const items = await mixedItems();
      const [got, pasts] = await withPasts(model, () => scoreSequences(model, items, { onePass }));
      expect(pasts.filter((p) => p > 0).sort((a, b) => a - b)).toEqual(cached);
      expect(pasts.filter((p) => p === 0).length).toBeLessThanOrEqual(fresh);
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
    },
  );

  it('one pass equals the prefill path within 1e-5; each is the default on its inference path', async () => {
    const items = await mixedItems();
    const [kv, exactPasts] = await withPasts(model, () => model.sequenceLogprobs(items));
    const one = await scoreSequences(model, items, { onePass: true });
    items.forEach((item, i) => {
      expect(one[i].count).toBe(item.completion.length);
      one[i].tokens.forEach((lp, k) => expect(Math.abs(lp - kv[i].tokens[k])).toBeLessThan(1e-5));
      expect(Math.abs(one[i].sum - kv[i].sum)).toBeLessThan(1e-5);
      expect(one[i].greedy).toBe(kv[i].greedy);
    });
    const fast = await loadModel(join(fixtures, name), {
      session: { threads: 1 },
      inference: { fast: true },
    });
    try {
      const [onFast, fastPasts] = await withPasts(fast, () => fast.sequenceLogprobs(items));
      // The fast graph (duplicated head rows through its head-rows-only last layer) agrees too.
      onFast.forEach((r, i) => {
        r.tokens.forEach((lp, k) => expect(Math.abs(lp - kv[i].tokens[k])).toBeLessThan(1e-4));
        expect(r.greedy).toBe(kv[i].greedy);
      });
      expect(exactPasts.filter((p) => p > 0).sort((a, b) => a - b)).toEqual([1, 6, 8, 8, 19]);
      expect(fastPasts.filter((p) => p > 0).sort((a, b) => a - b)).toEqual([1, 2, 7, 9, 20]);
    } finally {
      await fast.dispose();
    }
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
