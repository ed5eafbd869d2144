import { describe, expect, it } from 'vitest';
import { crossEntropy, Graph, TrainingStep } from '../engine/index.ts';
import { maxAbsDiff } from '../engine/testing.ts';
import { buildDecoder } from '../model/decoder.ts';
import { collate } from './batches.ts';
import type { EncodedRow } from './encode.ts';
import { clinicModel } from './fixtures/clinic.ts';
import { LmLoss, padIdOf } from './lm-loss.ts';
import { prepareLora } from './stage.ts';

const session = { threads: 2 };

function rows(vocab: number): EncodedRow[] {
  const row = (n: number, scoredFrom: number, seed: number): EncodedRow => ({
    ids: Array.from({ length: n }, (_, i) => (i * 37 + seed * 11) % vocab),
    mask: Uint8Array.from({ length: n }, (_, i) => (i >= scoredFrom ? 1 : 0)),
    source: { file: 'test', line: seed },
  });
  // Prompt tokens carry no loss and the shorter row is padded: both leave positions unscored.
  return [row(12, 5, 1), row(9, 3, 2)];
}

describe('LmLoss', () => {
  it('gives the loss and gradients of full logits + cross-entropy: bit for bit in one vocabulary chunk, within rounding in many', async () => {
    const model = clinicModel(3);
    const batch = collate(rows(model.config.vocabSize), padIdOf(model));
    const g = new Graph({ name: 'reference' });
    const inputIds = g.input('input_ids', 'int64', ['B', 'T']);
    const targets = g.input('targets', 'int64', ['B', 'T']);
    const { logits } = buildDecoder(g, model.config, { inputIds }, { training: true });
    const reference = await TrainingStep.create(
      g,
      crossEntropy(logits!, targets, { reduction: 'sum' }),
      model.params,
      session,
    );
    const want = await reference.run({ input_ids: batch.inputIds, targets: batch.targets });
    const wantGrads = reference.grads.data.slice();
    await reference.dispose();

    const whole = await LmLoss.create(model, { session });
    const got = await whole.forwardBackward(rows(model.config.vocabSize));
    expect(got.lossSum).toBe(want.loss);
    expect(got.weight).toBe(13);
    expect(Buffer.from(whole.step.grads.data.buffer).equals(Buffer.from(wantGrads.buffer))).toBe(
      true,
    );
    expect((await whole.evaluate(rows(model.config.vocabSize))).lossSum).toBeCloseTo(want.loss, 4);
    await whole.dispose();

    const chunked = await LmLoss.create(model, { session, headChunk: 100 });
    const c = await chunked.forwardBackward(rows(model.config.vocabSize));
    expect(Math.abs(c.lossSum - want.loss)).toBeLessThan(1e-4 * Math.abs(want.loss));
    expect(maxAbsDiff(chunked.step.grads.data, wantGrads)).toBeLessThan(1e-5);
    expect(chunked.step.grads.data.some((v, i) => v !== wantGrads[i])).toBe(true);
    await chunked.dispose();
    await model.dispose();
  });

  it('under LoRA (base frozen in the session) gives the same loss and adapter gradients in one chunk or many', async () => {
    const model = clinicModel(4);
    await prepareLora(model, { r: 4 }, 0);
    const data = rows(model.config.vocabSize);
    const whole = await LmLoss.create(model, { session });
    const chunked = await LmLoss.create(model, { session, headChunk: 100 });
    expect(whole.step.session.inputNames).not.toContain('model.embed_tokens.weight');
    const a = await whole.forwardBackward(data);
    const b = await chunked.forwardBackward(data);
    expect(Math.abs(a.lossSum - b.lossSum)).toBeLessThan(1e-4 * Math.abs(a.lossSum));
    expect(chunked.step.grads.data.some((v) => v !== 0)).toBe(true);
    expect(maxAbsDiff(chunked.step.grads.data, whole.step.grads.data)).toBeLessThan(1e-5);
    expect((await chunked.evaluate(data)).lossSum).toBeCloseTo(a.lossSum, 3);
    await Promise.all([whole.dispose(), chunked.dispose()]);
    await model.dispose();
  });

  it('with gradient checkpointing gives the same loss and gradients, bit for bit, for all weights and under LoRA', async () => {
    const model = clinicModel(5);
    for (const lora of [false, true]) {
      if (lora) await prepareLora(model, { r: 4 }, 0);
      const data = rows(model.config.vocabSize);
      const grads = async (checkpoint: boolean) => {
        const loss = await LmLoss.create(model, { session, checkpoint });
        const r = await loss.forwardBackward(data);
        const g = Buffer.from(loss.step.grads.data.slice().buffer);
        await loss.dispose();
        return { lossSum: r.lossSum, g };
      };
      const kept = await grads(false);
      const rebuilt = await grads(true);
      expect(rebuilt.lossSum).toBe(kept.lossSum);
      expect(rebuilt.g.equals(kept.g)).toBe(true); // toEqual walks megabytes byte by byte
      expect(kept.g.some((b) => b !== 0)).toBe(true);
    }
    await model.dispose();
  });

  it('refuses gradient checkpointing with LoRA dropout (a re-run would draw other masks)', async () => {
    const model = clinicModel(6);
    await prepareLora(model, { r: 4, dropout: 0.1 }, 0);
    await expect(LmLoss.create(model, { session, checkpoint: true })).rejects.toThrow(
      /checkpoint.*LoRA dropout/,
    );
    await model.dispose();
  });
});
