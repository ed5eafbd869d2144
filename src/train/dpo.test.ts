import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gradNorm } from '../engine/index.ts';
import { dpo, referenceLogps } from './dpo.ts';
import { encodeDpo } from './dpo-encode.ts';
import { DpoLoss, type DpoLossType } from './dpo-loss.ts';
import { dpoExamples } from './examples.ts';
import { clinicModel, preferenceRows } from './fixtures/clinic.ts';

const session = { threads: 2 };
const logSigmoid = (x: number): number => -Math.log1p(Math.exp(-x));

describe('DpoLoss', () => {
  const policy = clinicModel(7);
  const reference = clinicModel(8);
  afterAll(() => Promise.all([policy.dispose(), reference.dispose()]));
  const { pairs } = encodeDpo(policy.tokenizer!, dpoExamples(preferenceRows(2)).rows, {
    maxLength: 128,
  });

  /** Policy and reference log-probs of each side, through the model's own scoring (not the DPO graph). */
  async function logps() {
    const ref = await referenceLogps(reference, pairs);
    const pol = await referenceLogps(policy, pairs);
    return {
      ref,
      pol,
      counts: {
        chosen: pairs.map((p) => p.chosen.length),
        rejected: pairs.map((p) => p.rejected.length),
      },
    };
  }

  const cases: [DpoLossType, (h: number, beta: number) => number][] = [
    ['sigmoid', (h, beta) => -logSigmoid(beta * h)],
    ['ipo', (h, beta) => (h - 1 / (2 * beta)) ** 2],
    ['hinge', (h, beta) => Math.max(0, 1 - beta * h)],
  ];
  for (const [kind, formula] of cases) {
    it(`${kind}: loss and TRL metrics equal the formula on fixed pairs`, async () => {
      const beta = 0.5;
      const { ref, pol, counts } = await logps();
      const loss = await DpoLoss.create(policy, { beta, loss: kind }, { session });
      const r = await loss.forwardBackward(pairs, [...ref.chosen, ...ref.rejected]);
      await loss.dispose();
      // IPO compares token-averaged log-probs; the other losses summed ones.
      const avg = (x: number, side: 'chosen' | 'rejected', i: number) =>
        kind === 'ipo' ? x / counts[side][i] : x;
      let expected = 0;
      const sums = { chosen: 0, rejected: 0, accuracies: 0, margins: 0, pc: 0, pr: 0 };
      pairs.forEach((_, i) => {
        const pc = avg(pol.chosen[i], 'chosen', i);
        const pr = avg(pol.rejected[i], 'rejected', i);
        const rc = avg(ref.chosen[i], 'chosen', i);
        const rr = avg(ref.rejected[i], 'rejected', i);
        expected += formula(pc - rc - (pr - rr), beta);
        sums.chosen += beta * (pc - rc);
        sums.rejected += beta * (pr - rr);
        sums.accuracies += beta * (pc - rc) > beta * (pr - rr) ? 1 : 0;
        sums.margins += beta * (pc - rc - (pr - rr));
        sums.pc += pc;
        sums.pr += pr;
      });
      expect(r.weight).toBe(2);
      expect(r.lossSum).toBeCloseTo(expected, 3);
      const m = r.metricSums!;
      expect(m['rewards/chosen']).toBeCloseTo(sums.chosen, 3);
      expect(m['rewards/rejected']).toBeCloseTo(sums.rejected, 3);
      expect(m['rewards/accuracies']).toBe(sums.accuracies);
      expect(m['rewards/margins']).toBeCloseTo(sums.margins, 3);
      expect(m['logps/chosen']).toBeCloseTo(sums.pc, 2);
      expect(m['logps/rejected']).toBeCloseTo(sums.pr, 2);
    });
  }

  it('gradients match the loss: a small step against them lowers it by lr·|g|²', async () => {
    const { ref } = await logps();
    const reference2 = [...ref.chosen, ...ref.rejected];
    const loss = await DpoLoss.create(policy, { beta: 0.5 }, { session });
    const before = policy.params.snapshot();
    const r = await loss.forwardBackward(pairs, reference2);
    const g = loss.step.grads.data;
    const norm = gradNorm(loss.step.grads, policy.params);
    const lr = 1e-3 / norm ** 2;
    for (let i = 0; i < g.length; i++) policy.params.data[i] -= lr * g[i];
    const after = await loss.evaluate(pairs, reference2);
    policy.params.restore(before);
    await loss.dispose();
    expect((r.lossSum - after.lossSum) / 1e-3).toBeCloseTo(1, 1);
  });
});

describe('dpo(model, options)', () => {
  it('starts at ln 2 with zero margins and raises rewards/margins on train and held-out pairs', async () => {
    const model = clinicModel(9);
    const { summary, run } = await dpo(model, {
      data: preferenceRows(16),
      evalData: preferenceRows(20).slice(16),
      outDir: mkdtempSync(join(tmpdir(), 'finemed-dpo-')),
      preset: 'tiny',
      epochs: 2,
      evalOnStart: true,
      session,
    });
    expect(run.log[0].loss).toBeCloseTo(Math.log(2), 4);
    expect(run.evalLog[0].metrics['rewards/margins']).toBeCloseTo(0, 4);
    expect(run.log.at(-1)!.metrics['rewards/margins']).toBeGreaterThan(0.5);
    expect(run.evalLog.at(-1)!.metrics['rewards/margins']).toBeGreaterThan(0.5);
    expect(summary).toMatchObject({
      stage: 'dpo',
      beta: 0.1,
      loss_type: 'sigmoid',
      pairs: 16,
      eval_pairs: 4,
    });
    for (const name of [
      'rewards/chosen',
      'rewards/rejected',
      'rewards/accuracies',
      'rewards/margins',
      'logps/chosen',
      'logps/rejected',
    ])
      expect(typeof summary[name]).toBe('number');
    expect(summary['eval_rewards/accuracies']).toBe(1);
    await model.dispose();
  });
});
