import { CancelledError } from '../core/errors.ts';
import { hashValue } from '../core/hash.ts';
import {
  AdamW,
  gradNorm,
  learningRate,
  ParamSet,
  SGD,
  type Optimizer,
  type ScheduleOptions,
} from '../engine/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { checkpointLabel } from './checkpoint-recovery.ts';
import { saveCheckpoint, type EvalRecord, type StepRecord } from './checkpoints.ts';
import { DataOrder } from './data-order.ts';
import { resumePoint } from './trainer-resume.ts';
import {
  TrainingDivergedError,
  type TrainerOptions,
  type TrainRun,
  type TrainTask,
} from './trainer-types.ts';

/** The run's shape, fixed before the first step: what a resumed run must share. */
interface Plan {
  unitsPerStep: number;
  stepsPerEpoch: number;
  totalSteps: number;
  schedule: ScheduleOptions;
  fingerprint: string;
}

/** Everything a step reads or writes besides the weights: saved whole in each checkpoint. */
interface Loop {
  model: CausalLM;
  task: TrainTask;
  o: TrainerOptions;
  plan: Plan;
  optimizer: Optimizer;
  order: DataOrder;
  /** Gradient sum over a step's micro-batches (only with accumulation). */
  acc: ParamSet | undefined;
  log: StepRecord[];
  evalLog: EvalRecord[];
  checkpoint: string | null;
  /** The step this session started from. */
  start: number;
  began: number;
  tokensSeen: number;
}

/**
 * Runs the optimizer loop shared by every stage: shuffled epochs, micro-batches with gradient
 * accumulation (losses summed, then divided by the step's units, so accumulation equals one
 * large batch), global-norm clipping, a warmup schedule, held-out evaluation, atomic
 * checkpoints (kept last K), exact resume and cancellation that checkpoints first.
 * Deterministic: the data order is a pure function of seed and epoch, and every piece of
 * state a step reads (weights, moments, step count, the data order's generator) is in the
 * checkpoint.
 */
export async function runTrainer(
  model: CausalLM,
  task: TrainTask,
  o: TrainerOptions,
): Promise<TrainRun> {
  const loop = await startLoop(model, task, o);
  const { totalSteps } = loop.plan;
  if (o.evalOnStart && loop.evalLog.length === 0) await evaluate(loop, 0);
  for (let step = loop.start; step < totalSteps; step++) {
    const record = await trainStep(loop, step);
    loop.log.push(record);
    reportStep(loop, record);
    if (o.evalEvery && record.step % o.evalEvery === 0) await evaluate(loop, record.step);
    if (o.saveEvery && record.step % o.saveEvery === 0) await checkpointAt(loop, record.step);
  }
  if (task.evaluate && loop.evalLog.at(-1)?.step !== totalSteps) await evaluate(loop, totalSteps);
  const seconds = (performance.now() - loop.began) / 1000;
  return {
    steps: loop.log.length,
    log: loop.log,
    evalLog: loop.evalLog,
    checkpoint: loop.checkpoint,
    resumedFrom: loop.start,
    seconds,
    tokensPerSecond: seconds > 0 ? loop.tokensSeen / seconds : 0,
  };
}

function planOf(task: TrainTask, o: TrainerOptions): Plan {
  const unitsPerStep = o.batchSize * (o.gradAccum ?? 1);
  const stepsPerEpoch = Math.ceil(task.size / unitsPerStep);
  const totalSteps = o.maxSteps ?? Math.max(1, Math.ceil((o.epochs ?? 1) * stepsPerEpoch));
  const schedule = { kind: o.schedule ?? 'cosine', lr: o.lr, totalSteps, warmup: o.warmup };
  const fingerprint = hashValue({
    fingerprint: o.fingerprint ?? null,
    totalSteps,
    stepsPerEpoch,
    units: task.size,
    // Checkpoints written before the saved generator was the data order's are not resumable.
    rng: 'data-order',
  });
  return { unitsPerStep, stepsPerEpoch, totalSteps, schedule, fingerprint };
}

const noDecay = (name: string): boolean => name.endsWith('.bias') || /norm\.weight$/.test(name);

function makeOptimizer(model: CausalLM, o: TrainerOptions): Optimizer {
  if (o.optimizer === 'sgd')
    return new SGD(model.params, { lr: o.lr, weightDecay: o.weightDecay ?? 0 });
  return new AdamW(model.params, { lr: o.lr, weightDecay: o.weightDecay ?? 0.01, noDecay });
}

/** A fresh loop, or one continued from a checkpoint (weights, moments, logs, data order). */
async function startLoop(model: CausalLM, task: TrainTask, o: TrainerOptions): Promise<Loop> {
  const plan = planOf(task, o);
  const loop: Loop = {
    ...{ model, task, o, plan, optimizer: makeOptimizer(model, o) },
    order: new DataOrder(task.size, o.seed, o.shuffle ?? true),
    acc: (o.gradAccum ?? 1) > 1 ? ParamSet.zerosLike(model.params) : undefined,
    ...{ log: [], evalLog: [], checkpoint: null, start: 0 },
    ...{ began: performance.now(), tokensSeen: 0 },
  };
  const notice = (message: string, step = 0): void => {
    o.onNotice?.(message);
    o.onProgress?.({ stage: task.stage, step, total: plan.totalSteps, elapsed: 0, message });
  };
  const from = await resumePoint(o, model, plan.fingerprint, notice);
  if (!from) return loop;
  from.apply(loop.optimizer);
  loop.order.resume(from.state.data.epoch, from.state.rng);
  ({ log: loop.log, evalLog: loop.evalLog } = from.state);
  loop.checkpoint = from.dir;
  loop.start = loop.log.length;
  const label = checkpointLabel(from.dir, o.checkpointDir);
  notice(`resuming from ${label} (step ${from.state.step} of ${plan.totalSteps})`, from.state.step);
  return loop;
}

/** Where step `step`'s data starts: its epoch and the offset into that epoch's order. */
function position(plan: Plan, step: number): { epoch: number; offset: number } {
  const epoch = Math.floor(step / plan.stepsPerEpoch);
  return { epoch, offset: (step % plan.stepsPerEpoch) * plan.unitsPerStep };
}

/** One optimizer step: micro-batches forward and backward, clipping, the update. */
async function trainStep(loop: Loop, step: number): Promise<StepRecord> {
  const { model, task, o, plan } = loop;
  const { epoch, offset } = position(plan, step);
  const units = loop.order.units(epoch, offset, plan.unitsPerStep);
  let lossSum = 0;
  let weight = 0;
  let tokens = 0;
  const metricSums: Record<string, number> = {};
  for (let m = 0; m * o.batchSize < units.length; m++) {
    if (o.signal?.aborted) await stop(loop, step);
    const r = await task.forwardBackward(units.slice(m * o.batchSize, (m + 1) * o.batchSize));
    if (!Number.isFinite(r.lossSum))
      throw new TrainingDivergedError(step + 1, `the loss is ${r.lossSum}`, loop.checkpoint);
    if (loop.acc) accumulate(loop.acc, task.grads);
    lossSum += r.lossSum;
    weight += r.weight;
    tokens += r.tokens;
    for (const [k, v] of Object.entries(r.metricSums ?? {}))
      metricSums[k] = (metricSums[k] ?? 0) + v;
  }
  const grads = loop.acc ?? task.grads;
  const norm = gradNorm(grads, model.params) / weight;
  if (!Number.isFinite(norm))
    throw new TrainingDivergedError(step + 1, `the gradient norm is ${norm}`, loop.checkpoint);
  const maxNorm = o.maxGradNorm ?? 1;
  const clip = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
  const lr = learningRate(plan.schedule, step);
  loop.optimizer.step(grads, { lr, gradScale: clip / weight });
  loop.acc?.zero();
  loop.tokensSeen += tokens;
  return {
    step: step + 1,
    loss: lossSum / weight,
    lr,
    gradNorm: norm,
    tokens,
    epoch: (step + 1) / plan.stepsPerEpoch,
    metrics: Object.fromEntries(Object.entries(metricSums).map(([k, v]) => [k, v / weight])),
  };
}

/** Adds `from` into `into` over the trainable ranges. */
function accumulate(into: ParamSet, from: ParamSet): void {
  for (const [a, b] of into.trainableRanges()) {
    const x = into.data;
    const y = from.data;
    for (let i = a; i < b; i++) x[i] += y[i];
  }
}

function reportStep(loop: Loop, record: StepRecord): void {
  const { totalSteps } = loop.plan;
  const elapsed = (performance.now() - loop.began) / 1000;
  loop.o.onProgress?.({
    stage: loop.task.stage,
    step: record.step,
    total: totalSteps,
    loss: record.loss,
    rate: elapsed > 0 ? loop.tokensSeen / elapsed : undefined,
    rateUnit: 'tok/s',
    elapsed,
    eta: ((totalSteps - record.step) * elapsed) / (record.step - loop.start),
    metrics: { lr: record.lr, epoch: record.epoch, grad_norm: record.gradNorm, ...record.metrics },
  });
}

async function evaluate(loop: Loop, step: number): Promise<void> {
  const { task, o } = loop;
  if (!task.evaluate) return;
  const result = await task.evaluate(o.signal).catch((error: unknown) => {
    if (o.signal?.aborted && step > 0) return stop(loop, step);
    throw error;
  });
  loop.evalLog.push({ step, ...result });
  o.onProgress?.({
    stage: task.stage,
    step,
    total: loop.plan.totalSteps,
    elapsed: (performance.now() - loop.began) / 1000,
    metrics: { eval_loss: result.loss, ...prefixed(result.metrics, 'eval_') },
    message: `eval loss ${result.loss.toFixed(4)}`,
  });
}

function prefixed(metrics: Record<string, number>, prefix: string): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [prefix + k, v]));
}

/** Saves the state step `step` (0-based, not yet taken) starts from. */
async function checkpointAt(loop: Loop, step: number): Promise<string> {
  const { plan, task } = loop;
  const { epoch, offset } = position(plan, step);
  const state = {
    stage: task.stage,
    step,
    totalSteps: plan.totalSteps,
    stepsPerEpoch: plan.stepsPerEpoch,
    data: { epoch, offset, units: task.size },
    rng: loop.order.generatorAt(epoch),
    fingerprint: plan.fingerprint,
    log: loop.log,
    evalLog: loop.evalLog,
  };
  const keep = loop.o.keepCheckpoints ?? 2;
  loop.checkpoint = await saveCheckpoint(
    loop.o.checkpointDir,
    loop.model,
    loop.optimizer,
    state,
    keep,
  );
  return loop.checkpoint;
}

/** Cancels the run after checkpointing the step it stopped before (once). */
async function stop(loop: Loop, step: number): Promise<never> {
  const saved = loop.checkpoint?.endsWith(`checkpoint-${step}`)
    ? loop.checkpoint
    : await checkpointAt(loop, step);
  const reason =
    loop.o.signal?.reason instanceof Error ? loop.o.signal.reason.message : 'cancelled';
  throw new CancelledError(`${reason}; checkpoint saved at ${saved} (resume to continue)`);
}
