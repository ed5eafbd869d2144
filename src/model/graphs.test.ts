import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { loadModel, type CausalLM } from './causal-lm.ts';
import { FAST_INFERENCE_PARAMETERS } from './graphs.ts';
import { attachLora, detachLora } from './lora.ts';

const fixture = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'qwen2_gqa_untied');
const ids = [[3, 14, 15, 9, 26, 5, 35]];
const load = (): Promise<CausalLM> => loadModel(fixture, { session: { threads: 1 } });
const logits = async (m: CausalLM): Promise<Float32Array> => (await m.logits(ids)).data;
const fed = async (m: CausalLM): Promise<string[]> => (await m.compiled()).paramNames;

describe('inference graph weights', () => {
  it('holds the base weights in the session, and feeds every weight once they change', async () => {
    const model = await load();
    const before = await logits(model);
    expect(await fed(model)).toEqual([]);
    // An optimizer-like tracked write: the next call must see it.
    model.params.fillNormal('model.layers.0.mlp.down_proj.weight', new Rng(1), 0.5);
    const after = await logits(model);
    expect(after).not.toEqual(before);
    expect(await fed(model)).toHaveLength(model.params.entries.length);
    const fresh = await load();
    fresh.params.copyFrom(model.params);
    expect(await logits(fresh)).toEqual(after);
    // Later writes reach the per-run feeds without a new session.
    const session = (await model.compiled()).session;
    model.params.fill('model.norm.weight', 0.5);
    fresh.params.fill('model.norm.weight', 0.5);
    expect(await logits(model)).toEqual(await logits(fresh));
    expect((await model.compiled()).session).toBe(session);
    // A new parameter set (LoRA attached) has its base frozen again.
    await attachLora(model, { r: 2, alpha: 4, targetModules: ['o_proj'] });
    const adapters = await fed(model);
    expect(adapters.length > 0 && adapters.every((name) => name.includes('.lora_'))).toBe(true);
    expect(await logits(model)).toEqual(await logits(fresh));
    await Promise.all([model.dispose(), fresh.dispose()]);
  });

  it('under LoRA feeds only the adapters; detaching gives the base model back', async () => {
    const model = await load();
    const base = await logits(model);
    await attachLora(model, { r: 2, alpha: 4, targetModules: ['q_proj', 'down_proj'], seed: 3 });
    const adapters = model.params.entries.filter((e) => e.name.includes('.lora_'));
    expect((await fed(model)).sort()).toEqual(adapters.map((e) => e.name).sort());
    // Adapter writes (training, TTT's restore) go straight into the arena, untracked.
    const rng = new Rng(2);
    for (const e of adapters) rng.fillNormal(model.params.view(e.name), 0.3);
    const adapted = await logits(model);
    expect(adapted).not.toEqual(base);
    for (const e of adapters) model.params.view(e.name).fill(0);
    expect(await logits(model)).toEqual(base);
    await detachLora(model);
    expect(await fed(model)).toEqual([]);
    expect(await logits(model)).toEqual(base);
    await model.dispose();
  });
});

describe('the fast inference path', () => {
  const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');
  const batch = [
    [3, 14, 15, 9, 26, 5, 35],
    [8, 9, 7, 9, 3, 2, 38],
  ];
  const withFast = (name: string, fast: boolean) =>
    loadModel(join(fixtures, name), { session: { threads: 1 }, inference: { fast } });
  const worst = (a: Float32Array, b: Float32Array) =>
    a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i])), 0);

  it.each(['qwen2_gqa_untied', 'llama_gqa_bias', 'qwen2_mqa_tied', 'llama3_scaled_tied'])(
    "gives the exact path's logits within 1e-5 (%s), with and without LoRA",
    async (name) => {
      const [exact, fast] = await Promise.all([withFast(name, false), withFast(name, true)]);
      expect((await exact.compiled()).fast).toBe(false);
      expect((await fast.compiled()).fast).toBe(true);
      const reference = (await exact.logits(batch)).data;
      const got = (await fast.logits(batch)).data;
      expect(got).not.toEqual(new Float32Array(got.length));
      expect(worst(got, reference)).toBeLessThan(1e-5);
      // Options after a shared prompt: a prefill with no head rows, then rows on its cache.
      const items = [3, 4, 5].map((t) => ({ prompt: batch[0], completion: [t, 7] }));
      const [want, have] = await Promise.all([exact, fast].map((m) => m.sequenceLogprobs(items)));
      have.forEach((h, i) => expect(Math.abs(h.sum - want[i].sum)).toBeLessThan(1e-5));
      expect(have.map((h) => h.greedy)).toEqual(want.map((w) => w.greedy));
      // Adapters on a fused group (q, v) and on one alone (down) add to their own slices.
      const lora = { r: 2, alpha: 4, targetModules: ['q_proj', 'v_proj', 'down_proj'], seed: 5 };
      for (const m of [exact, fast]) {
        await attachLora(m, lora);
        const rng = new Rng(7);
        for (const e of m.params.entries.filter((p) => p.name.includes('.lora_B')))
          rng.fillNormal(m.params.view(e.name), 0.5);
      }
      const adapted = (await exact.logits(batch)).data;
      expect(worst(adapted, reference)).toBeGreaterThan(1e-3);
      expect(worst((await fast.logits(batch)).data, adapted)).toBeLessThan(1e-5);
      await Promise.all([exact.dispose(), fast.dispose()]);
    },
  );

  it('is on by size by default, and off once the base weights are fed per run', async () => {
    const small = await loadModel(fixture, { session: { threads: 1 } });
    expect(small.params.count).toBeLessThan(FAST_INFERENCE_PARAMETERS);
    expect((await small.compiled()).fast).toBe(false);
    const forced = await withFast('qwen2_gqa_untied', true);
    const before = await logits(forced);
    // Full-parameter writes: the weights become per-run inputs, which the exact path reads.
    forced.params.fillNormal('model.layers.0.mlp.up_proj.weight', new Rng(3), 0.5);
    const after = await logits(forced);
    expect((await forced.compiled()).fast).toBe(false);
    expect(after).not.toEqual(before);
    await Promise.all([small.dispose(), forced.dispose()]);
  });
});
