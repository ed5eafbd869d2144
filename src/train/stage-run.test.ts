import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CausalLM } from '../model/causal-lm.ts';
import { encodeSft, type EncodedRow } from './encode.ts';
import { sftExamples } from './examples.ts';
import { chatRows, clinicModel } from './fixtures/clinic.ts';
import { LmLoss } from './lm-loss.ts';
import { SFT_PRESETS } from './presets.ts';
import { resolveHyper, type StageOptions } from './stage.ts';
import { runStage, type StagePlan } from './stage-run.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-stage-run-'));

function rowsOf(model: CausalLM, n: number): EncodedRow[] {
  return encodeSft(model.tokenizer!, sftExamples(chatRows(n)).rows, { maxLength: 128 }).rows;
}

/** A plan training the LM loss on `train`, evaluating `held`, logging what the runner asks. */
function lmPlan(model: CausalLM, train: EncodedRow[], held: EncodedRow[], identity: object) {
  const log = { evaluated: [] as number[][], disposed: 0 };
  const plan: StagePlan<LmLoss> = {
    stage: 'unit',
    hyper: resolveHyper(model, { preset: 'tiny', batchSize: 2, epochs: 1 }, SFT_PRESETS),
    identity: { ...identity },
    units: { train: train.length, held: held.length },
    createLoss: async (graph) => {
      const loss = await LmLoss.create(model, graph);
      const dispose = loss.dispose.bind(loss);
      loss.dispose = () => {
        log.disposed++;
        return dispose();
      };
      return loss;
    },
    forwardBackward: (loss, units) => loss.forwardBackward(units.map((i) => train[i])),
    evaluate: (loss, units) => {
      log.evaluated.push([...units]);
      return loss.evaluate(units.map((i) => held[i]));
    },
    summary: (run) => ({ rows: train.length, logged: run.log.length }),
  };
  return { plan, log };
}

describe('runStage(model, options, plan)', () => {
  it('trains through the plan, evaluates held-out units a batch at a time, disposes the loss, and reports shared fields then the stage’s', async () => {
    const model = clinicModel(4);
    const rows = rowsOf(model, 10);
    const { plan, log } = lmPlan(model, rows.slice(0, 7), rows.slice(7), {});
    const options: StageOptions = {
      outDir: scratch(),
      save: false,
      evalOnStart: true,
      session: { threads: 2 },
    };
    const { summary, run } = await runStage(model, options, plan);
    expect(run.steps).toBe(4);
    expect(log.evaluated.slice(0, 2)).toEqual([[0, 1], [2]]);
    expect(log.disposed).toBe(1);
    expect(Object.keys(summary).slice(-3)).toEqual(['preset', 'rows', 'logged']);
    expect(summary).toMatchObject({ stage: 'unit', steps: 4, preset: 'tiny', rows: 7, logged: 4 });
    expect(summary.eval_loss).toBe(run.evalLog.at(-1)!.loss);
    await model.dispose();
  });

  it('puts the stage’s identity in the checkpoint fingerprint: a resume on other data is refused', async () => {
    const out = scratch();
    const model = clinicModel(5);
    const rows = rowsOf(model, 8);
    const options: StageOptions = {
      outDir: out,
      save: false,
      saveEvery: 1,
      session: { threads: 2 },
    };
    await runStage(model, options, lmPlan(model, rows, [], { data: 'a' }).plan);
    const again = lmPlan(model, rows, [], { data: 'b' });
    await expect(runStage(model, { ...options, resume: true }, again.plan)).rejects.toThrow(
      /other data or settings/,
    );
    expect(again.log.disposed).toBe(1);
    const same = await runStage(
      model,
      { ...options, resume: true },
      lmPlan(model, rows, [], { data: 'a' }).plan,
    );
    expect(same.summary.steps).toBe(4);
    await model.dispose();
  });
});
