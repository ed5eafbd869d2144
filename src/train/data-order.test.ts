import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, type RngState } from '../core/rng.ts';
import { ParamSet } from '../engine/index.ts';
import { DataOrder } from './data-order.ts';
import { clinicModel } from './fixtures/clinic.ts';
import { runTrainer } from './trainer.ts';
import type { TrainTask } from './trainer-types.ts';

const model = clinicModel(4);
afterAll(() => model.dispose());

/** A task that only records which units each micro-batch reads (zero gradients). */
function recordingTask(size: number): TrainTask & { seen: number[][] } {
  const seen: number[][] = [];
  return {
    stage: 'record',
    size,
    seen,
    grads: ParamSet.zerosLike(model.params),
    forwardBackward: async (units) => {
      seen.push([...units]);
      return { lossSum: units.length, weight: units.length, tokens: units.length };
    },
  };
}

function orderFrom(state: RngState, size: number): number[] {
  const rng = new Rng();
  rng.setState(state);
  return rng.shuffle(Array.from({ length: size }, (_, i) => i));
}

const stateOf = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')) as {
    rng: RngState;
    data: { epoch: number; offset: number };
  };

// 10 units, 2 per step: 5 steps per epoch, 2 epochs.
const options = (checkpointDir: string) => ({
  checkpointDir,
  seed: 7,
  lr: 1e-3,
  batchSize: 2,
  epochs: 2,
});

describe('the data order a checkpoint saves', () => {
  it('is the generator the next step draws its units from, mid-epoch and at an epoch boundary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finemed-order-'));
    const task = recordingTask(10);
    await runTrainer(model, task, { ...options(dir), saveEvery: 1, keepCheckpoints: 10 });
    for (const step of [3, 5, 6]) {
      const state = stateOf(join(dir, `checkpoint-${step}`));
      const { offset } = state.data;
      expect(task.seen[step]).toEqual(orderFrom(state.rng, 10).slice(offset, offset + 2));
    }
  });

  it('is the one a resumed run draws from', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finemed-order-'));
    await runTrainer(model, recordingTask(10), {
      ...options(dir),
      saveEvery: 3,
      keepCheckpoints: 5,
    });
    const at3 = join(dir, 'checkpoint-3');
    const state = stateOf(at3);
    const other = new Rng(12345).getState();
    writeFileSync(join(at3, 'trainer_state.json'), JSON.stringify({ ...state, rng: other }));
    const resumed = recordingTask(10);
    await runTrainer(model, resumed, { ...options(dir), resume: at3 });
    // Steps 4 and 5 finish epoch 0 in the order the saved generator draws; epoch 1 is its own.
    expect(resumed.seen.slice(0, 2)).toEqual([
      orderFrom(other, 10).slice(6, 8),
      orderFrom(other, 10).slice(8, 10),
    ]);
    const epoch1 = new DataOrder(10, 7, true).units(1, 0, 2);
    expect(resumed.seen[2]).toEqual(epoch1);
  });
});
