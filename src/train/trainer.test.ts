import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../core/progress.ts';
import { learningRate } from '../engine/index.ts';
import { chatRows, clinicModel } from './fixtures/clinic.ts';
import { sft } from './sft.ts';

describe('runTrainer(model, task, options)', () => {
  it('warms up then follows the schedule, evaluates every N steps and reports each step', async () => {
    const model = clinicModel(4);
    const events: ProgressEvent[] = [];
    const { run } = await sft(model, {
      data: chatRows(16),
      evalData: chatRows(20).slice(16),
      outDir: mkdtempSync(join(tmpdir(), 'finemed-trainer-')),
      preset: 'tiny',
      epochs: 2,
      batchSize: 4,
      lr: 2e-3,
      schedule: 'linear',
      warmup: { steps: 3 },
      evalEvery: 3,
      save: false,
      session: { threads: 2 },
      onProgress: (e) => events.push(e),
    });
    const schedule = { kind: 'linear' as const, lr: 2e-3, totalSteps: 8, warmup: { steps: 3 } };
    expect(run.log.map((r) => r.lr)).toEqual(
      Array.from({ length: 8 }, (_, s) => learningRate(schedule, s)),
    );
    expect(run.log[0].lr).toBe(0);
    expect(run.log[3].lr).toBe(2e-3);
    expect(run.log.map((r) => r.epoch)).toEqual([0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]);
    // Every third step, plus the final step (8 is not a multiple of 3).
    expect(run.evalLog.map((e) => e.step)).toEqual([3, 6, 8]);
    const steps = events.filter((e) => e.loss !== undefined);
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const e of steps) {
      expect(e).toMatchObject({ stage: 'sft', total: 8, rateUnit: 'tok/s' });
      expect(e.rate).toBeGreaterThan(0);
      expect(e.eta).toBeGreaterThanOrEqual(0);
      expect(e.metrics).toMatchObject({ lr: run.log[e.step - 1].lr });
    }
    expect(steps.at(-1)!.eta).toBe(0);
    const evals = events.filter((e) => e.metrics?.eval_loss !== undefined);
    expect(evals.map((e) => e.metrics!.eval_loss)).toEqual(run.evalLog.map((e) => e.loss));
    await model.dispose();
  });
});
