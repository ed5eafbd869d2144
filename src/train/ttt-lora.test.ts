import { afterAll, describe, expect, it } from 'vitest';
import { AdamW, cachedSessionCount, gradNorm } from '../engine/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { encodeSft } from './encode.ts';
import { clinicModel, remedyFacts, remedyQuestions } from './fixtures/clinic.ts';
import { LmLoss } from './lm-loss.ts';
import { buildIndex, parseIndexRecord, type RetrievalIndex } from './retrieve/index.ts';
import { prepareLora } from './stage.ts';
import { TestTimeTrainer } from './ttt.ts';

const session = { threads: 2 };
const LR = 1e-2;
const STEPS = 2;
const docs = remedyFacts().map((r, i) => parseIndexRecord(r, { file: 'facts', line: i + 1 }));
const questions = remedyQuestions() as { question: string; options: Record<string, string> }[];

/** The four options of a question, scored after its prompt. */
function optionItems(model: CausalLM, q: (typeof questions)[number]) {
  const tokenizer = model.tokenizer!;
  const prompt = tokenizer.encode(q.question);
  return Object.values(q.options).map((o) => ({ prompt, completion: tokenizer.encode(` ${o}`) }));
}

/**
 * TTT with LoRA as it ran before the base was shared: both sessions hold their own copy of the
 * frozen base, and AdamW, the clip norm and the restore sweep the whole parameter arena.
 */
async function referenceTtt(index: RetrievalIndex, neighbours: number[]): Promise<number[][]> {
  const model = clinicModel(12);
  await prepareLora(model, { r: 4 }, 0);
  const loss = await LmLoss.create(model, { session });
  const optimizer = new AdamW(model.params, { lr: LR, weightDecay: 0 });
  const base = model.params.snapshot();
  const out: number[][] = [];
  for (const [i, q] of questions.slice(0, neighbours.length).entries()) {
    const { rows } = encodeSft(model.tokenizer!, [index.docs[neighbours[i]].example], {
      maxLength: Math.min(512, model.config.maxPositions),
    });
    const losses: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      const r = await loss.forwardBackward(rows);
      const norm = gradNorm(loss.step.grads, model.params) / r.weight;
      optimizer.step(loss.step.grads, { gradScale: Math.min(1, 1 / (norm + 1e-6)) / r.weight });
      losses.push(r.lossSum / r.weight);
    }
    const scores = await model.sequenceLogprobs(optionItems(model, q));
    out.push([...losses, ...scores.map((s) => s.sum)]);
    model.params.restore(base);
    optimizer.reset();
  }
  await loss.dispose();
  await model.dispose();
  return out;
}

describe('TestTimeTrainer with LoRA on CPU', () => {
  const model = clinicModel(12);
  afterAll(() => model.dispose());

  it('trains on the base fed from the arena, with the same floats as a session holding it', async () => {
    const index = await buildIndex(docs);
    const ttt = await TestTimeTrainer.create(model, index, {
      k: 1,
      steps: STEPS,
      lr: LR,
      lora: { r: 4 },
      session,
    });
    const adapted: number[][] = [];
    const neighbours: number[] = [];
    for (const q of questions.slice(0, 4)) {
      const {
        neighbours: [hit],
      } = await ttt.adapt(q.question);
      const scores = await model.sequenceLogprobs(optionItems(model, q));
      adapted.push([...hit.loss, ...scores.map((s) => s.sum)]);
      neighbours.push(hit.index);
      expect(ttt.restore()).toBe(true);
    }
    // The training session holds no copy of the base: it is fed from the model's arena.
    expect(ttt['loss'].step.session.inputNames).toContain('model.embed_tokens.weight');
    await ttt.dispose();
    expect(ttt.unchanged()).toBe(true);
    expect(adapted).toEqual(await referenceTtt(index, neighbours));
  });

  it('keeps its two sessions across questions and neighbours of different lengths', async () => {
    const index = await buildIndex([
      ...docs,
      parseIndexRecord(
        { prompt: 'What cures zorblax fever in a long case?', chosen: 'kelamine '.repeat(20) },
        { file: 'facts', line: 9 },
      ),
    ]);
    const fresh = clinicModel(13);
    const before = cachedSessionCount();
    const ttt = await TestTimeTrainer.create(fresh, index, { k: 2, lora: { r: 4 }, session });
    const lengths = new Set<number>();
    const counts: number[] = [];
    for (const q of [
      questions[0],
      { ...questions[1], question: 'x '.repeat(30) + 'quintal rot' },
    ]) {
      await ttt.adapt(q.question);
      const items = optionItems(fresh, q);
      lengths.add(items[0].prompt.length);
      await fresh.sequenceLogprobs(items);
      ttt.restore();
      counts.push(cachedSessionCount() - before);
    }
    expect(lengths.size).toBe(2);
    // Sessions fed the same graph are shared (an earlier test's scoring session may serve too).
    expect(counts[0]).toBeGreaterThanOrEqual(1);
    expect(counts[1]).toBe(counts[0]);
    // The optimizer's moments span the adapters, not the model.
    const m = ttt['optimizer']!.state().buffers.m;
    const [[start, end]] = fresh.params.trainableRanges();
    expect(m.length).toBe(end - start);
    expect(m.length).toBeLessThan(fresh.params.data.length / 4);
    await ttt.dispose();
    await fresh.dispose();
  });
});
