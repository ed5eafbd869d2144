import { describe, expect, it } from 'vitest';
import type { KernelClient, RunHandle } from '../kernel/client.ts';
import type { ArtifactRef, JobPlan } from '../kernel/protocol.ts';
import { JobRun, type JobState } from './job-run.ts';
import { Workbench } from './wb.ts';

/**
 * A kernel that plans and finishes every job at once, keyed by its name and call number, and
 * records the parameters it was asked for (after the workbench resolved them); `failing` jobs
 * fail their plan.
 */
function fakeKernel(failing: string[] = []) {
  const planned: { job: string; params: unknown }[] = [];
  const made = new Map<string, ArtifactRef>();
  const client = {
    async plan(job: string, params: unknown): Promise<JobPlan> {
      if (failing.includes(job)) throw new Error('no such data');
      planned.push({ job, params });
      const n = planned.filter((p) => p.job === job).length;
      const artifact = { kind: job, key: `${job}#${n}` };
      made.set(job, artifact);
      const estimate = { seconds: 1 };
      return { job, artifact, cached: false, running: false, estimate, seed: 0, files: [] };
    },
    run(job: string): Pick<RunHandle, 'result' | 'cancel'> {
      const artifact = made.get(job)!;
      const result = { job, artifact, reused: false, summary: {}, files: [], seed: 0, inputs: [] };
      return { result: Promise.resolve({ ...result, history: [] }), cancel: async () => true };
    },
  } as unknown as KernelClient;
  const states: { run: JobRun; state: JobState }[] = [];
  const onJobState = (run: JobRun, state: JobState) => states.push({ run, state });
  const host = { client, maxCostSeconds: 60, isApproved: () => true, onJobState };
  return { wb: new Workbench(host).forCell(3), planned, states };
}

describe('wb.recipe(size)', () => {
  const { wb } = fakeKernel();

  // The values the flagship's cell 5 declared before the recipe moved here: a changed value
  // changes every artifact key, so it must be a deliberate edit of this test too.
  it("is the flagship's recipe for the tiny preset", () => {
    expect(wb.recipe('tiny')).toEqual({
      synth: { rarity: 1, anchorFraction: 1 },
      pretrain: { lr: 3e-3, epochs: 1, batchSize: 8, maxLength: 128 },
      common: { lr: 2e-3, epochs: 1, batchSize: 8, maxLength: 256 },
      department: { lr: 1e-3, epochs: 0.5, batchSize: 8, maxLength: 256 },
      reasoning: { lr: 1e-3, epochs: 0.5, batchSize: 4, maxLength: 256 },
      dpo: { lr: 1e-4, beta: 0.1, epochs: 0.5, batchSize: 2, maxLength: 384 },
      ttt: { k: 1, steps: 1, lr: 1e-3, index: 'pretrain.jsonl' },
      scoring: {
        harness: 'workbench',
        mode: 'loglik',
        choiceStyle: 'text',
        chat: true,
        answerPrefix: 'The most likely diagnosis is',
      },
    });
  });

  it("is the flagship's recipe for the demo preset", () => {
    const demo = wb.recipe('demo');
    expect(demo.synth).toEqual({
      conditions: 30,
      passages: 600,
      evalItems: 200,
      rarity: 1,
      anchorFraction: 1,
    });
    expect([demo.pretrain, demo.common, demo.department, demo.reasoning, demo.dpo]).toEqual([
      { lr: 3e-3, epochs: 8, batchSize: 8, maxLength: 128 },
      { lr: 5e-4, epochs: 3, batchSize: 8, maxLength: 256 },
      { lr: 2e-4, epochs: 1, batchSize: 8, maxLength: 512 },
      { lr: 3e-4, epochs: 4, batchSize: 4, maxLength: 512 },
      { lr: 5e-5, beta: 0.1, epochs: 1, batchSize: 4, maxLength: 512 },
    ]);
    expect(demo.ttt).toEqual(wb.recipe('tiny').ttt);
    expect(demo.scoring).toEqual(wb.recipe('tiny').scoring);
  });

  it('gives each caller its own copy, and names the sizes it knows', () => {
    wb.recipe('tiny').pretrain.lr = 1;
    expect(wb.recipe('tiny').pretrain.lr).toBe(3e-3);
    expect(() => wb.recipe('paper')).toThrow(
      'wb.recipe: size must be one of tiny, demo, got "paper"',
    );
  });
});

describe('wb.sharedStageParams(size, seed)', () => {
  it("builds the flagship's former job parameters, to the letter", () => {
    const { wb } = fakeKernel();
    const data = { dataset: 'D' } as unknown as JobState;
    const [init, base] = ['I', 'B'] as unknown as JobState[];
    const shared = wb.sharedStageParams('demo', 7);
    const recipe = wb.recipe('demo');
    const file = (name: string) => ({ dataset: data, file: name });
    expect(shared.synth()).toEqual({ preset: 'demo', seed: 7, ...recipe.synth });
    expect(shared.init(data)).toEqual({ preset: 'demo', corpus: file('pretrain.jsonl'), seed: 7 });
    expect(shared.pretrain(init, data)).toEqual({
      model: init,
      data: file('pretrain.jsonl'),
      packing: true,
      seed: 7,
      ...recipe.pretrain,
    });
    expect(shared.common(base, data)).toEqual({
      model: base,
      data: file('sft_common.jsonl'),
      seed: 7,
      ...recipe.common,
    });
  });
});

describe('wb.sharedStages({ size, seed, through })', () => {
  it('starts the chain in one cell, each job with the one before it as input', async () => {
    const { wb, planned, states } = fakeKernel();
    const stages = wb.sharedStages({ size: 'tiny', seed: 1, through: 'common' });
    expect(stages.init.current).toMatchObject({
      status: 'queued',
      cell: 3,
      waitingFor: ['synth in cell 3'],
    });
    const done = await stages.common!.finished;
    expect(done.status).toBe('done');
    const shared = wb.sharedStageParams('tiny', 1);
    const ref = (job: string) => ({ kind: job, key: `${job}#1` });
    const data = ref('synth');
    expect(planned).toEqual([
      { job: 'synth', params: shared.synth() },
      { job: 'model.init', params: { ...shared.init(data as never) } },
      { job: 'train.sft', params: shared.pretrain(ref('model.init') as never, data as never) },
      {
        job: 'train.sft',
        params: shared.common({ kind: 'train.sft', key: 'train.sft#1' } as never, data as never),
      },
    ]);
    expect(stages.pretrained.current.waitingFor).toBeUndefined();
    // The pretraining job's line names what it still awaits, one input fewer as each finishes.
    const pretraining = states.filter((s) => s.run === stages.pretrained && s.state.waitingFor);
    expect(pretraining.map((s) => s.state.waitingFor)).toEqual([
      ['model.init in cell 3', 'synth in cell 3'],
      ['model.init in cell 3'],
    ]);
  });

  it('stops at pretraining unless asked for more', () => {
    const { wb } = fakeKernel();
    expect(Object.keys(wb.sharedStages({ size: 'tiny', seed: 1 }))).toEqual([
      'data',
      'init',
      'pretrained',
    ]);
  });

  it('a job after one that failed waits for it instead of starting', async () => {
    const { wb, planned } = fakeKernel(['synth']);
    const { data, init, pretrained } = wb.sharedStages({ size: 'tiny', seed: 1 });
    await expect(data.finished).rejects.toThrow('synth: no such data');
    expect(await init.finished).toMatchObject({
      status: 'waiting',
      waitingFor: ['synth in cell 3 (error)'],
    });
    expect((await pretrained.finished).status).toBe('waiting');
    expect(planned).toEqual([]);
  });

  it('a job whose input run is superseded ends with it', async () => {
    const { wb, planned } = fakeKernel();
    const { data, init } = wb.sharedStages({ size: 'tiny', seed: 1 });
    await Promise.all([data.return(), init.return()]);
    await expect(init.finished).rejects.toThrow('superseded');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(planned.map((p) => p.job)).not.toContain('model.init');
    expect(init).toBeInstanceOf(JobRun);
  });
});
