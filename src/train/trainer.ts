import { basename } from 'node:path';
import { CancelledError, InputError } from '../core/errors.ts';
import { hashValue } from '../core/hash.ts';
import { Rng } from '../core/rng.ts';
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
import { checkpointLabel, newestValidCheckpoint, removeStaleTemps } from './checkpoint-recovery.ts';
import {
  readTrainingCheckpoint,
  saveCheckpoint,
  type EvalRecord,
  type StepRecord,
  type TrainerState,
  type TrainingCheckpoint,
} from './checkpoints.ts';
import {
  TrainingDivergedError,
  type TrainerOptions,
  type TrainRun,
  type TrainTask,
} from './trainer-types.ts';

const noDecay = (name: string): boolean => name.endsWith('.bias') || /norm\.weight$/.test(name);

function makeOptimizer(model: CausalLM, o: TrainerOptions): Optimizer {
  if (o.optimizer === 'sgd')
    return new SGD(model.params, { lr: o.lr, weightDecay: o.weightDecay ?? 0 });
  return new AdamW(model.params, { lr: o.lr, weightDecay: o.weightDecay ?? 0.01, noDecay });
}

/**
 * Clears dead writers' temporary folders, then finds the checkpoint to continue from: the
 * folder `o.resume` names, or the newest intact one in `checkpointDir` (damaged newer ones are
 * skipped with a notice). Nothing is applied to the model yet.
 */
async function resumePoint(
  o: TrainerOptions,
  model: CausalLM,
  notice: (message: string) => void,
): Promise<TrainingCheckpoint | undefined> {
  for (const path of await removeStaleTemps(o.checkpointDir))
    notice(`removed ${basename(path)}, the unfinished checkpoint of a run that was stopped`);
  if (!o.resume) return undefined;
  if (typeof o.resume === 'string' && o.resume !== 'auto')
    return readTrainingCheckpoint(o.resume, model);
  const found = await newestValidCheckpoint(o.checkpointDir, model, (skipped) =>
    notice(
      `skipping damaged ${basename(skipped.dir)} (${skipped.reason}); moved to ${basename(skipped.movedTo)}`,
    ),
  );
  if (!found && o.resume === true)
    throw new InputError('no checkpoint to resume from', { file: o.checkpointDir });
  return found;
}

/** Adds `from` into `into` over the trainable ranges. */
function accumulate(into: ParamSet, from: ParamSet): void {
  for (const [a, b] of into.trainableRanges()) {
    const x = into.data;
    const y = from.data;
    for (let i = a; i < b; i++) x[i] += y[i];
  }
}

/**
 * Runs the optimizer loop shared by every stage: shuffled epochs, micro-batches with gradient
 * accumulation (losses summed, then divided by the step's units, so accumulation equals one
 * large batch), global-norm clipping, a warmup schedule, held-out evaluation, atomic
 * checkpoints (kept last K), exact resume and cancellation that checkpoints first.
 * Deterministic: the data order is a pure function of seed and epoch, and every piece of
 * state a step reads (weights, moments, step count, generator) is in the checkpoint.
 */
export async function runTrainer(
  model: CausalLM,
  task: TrainTask,
  o: TrainerOptions,
): Promise<TrainRun> {
  const gradAccum = o.gradAccum ?? 1;
  const unitsPerStep = o.batchSize * gradAccum;
  const stepsPerEpoch = Math.ceil(task.size / unitsPerStep);
  const totalSteps = o.maxSteps ?? Math.max(1, Math.ceil((o.epochs ?? 1) * stepsPerEpoch));
  const schedule: ScheduleOptions = {
    kind: o.schedule ?? 'cosine',
    lr: o.lr,
    totalSteps,
    warmup: o.warmup,
  };
  const fingerprint = hashValue({
    fingerprint: o.fingerprint ?? null,
    totalSteps,
    stepsPerEpoch,
    units: task.size,
  });
  const optimizer = makeOptimizer(model, o);
  const rng = new Rng(o.seed).fork('trainer');
  let log: StepRecord[] = [];
  let evalLog: EvalRecord[] = [];
  let checkpoint: string | null = null;
  const notice = (message: string, step = 0): void => {
    o.onNotice?.(message);
    o.onProgress?.({ stage: task.stage, step, total: totalSteps, elapsed: 0, message });
  };
  const from = await resumePoint(o, model, notice);
  if (from) {
    if (from.state.fingerprint !== fingerprint)
      throw new InputError(
        'the checkpoint belongs to a run with other data or settings; start a new output folder or drop --resume',
        { file: from.dir },
      );
    from.apply(optimizer);
    rng.setState(from.state.rng);
    ({ log, evalLog } = from.state);
    checkpoint = from.dir;
    const label = checkpointLabel(from.dir, o.checkpointDir);
    notice(`resuming from ${label} (step ${from.state.step} of ${totalSteps})`, from.state.step);
  }
  const start = log.length;
  const acc = gradAccum > 1 ? ParamSet.zerosLike(model.params) : undefined;
  let order: number[] = [];
  let orderEpoch = -1;
  const began = performance.now();
  let tokensSeen = 0;
  const checkpointAt = async (step: number): Promise<string> => {
    const epoch = Math.floor(step / stepsPerEpoch);
    const state: Omit<TrainerState, 'optimizer' | 'version' | 'lora'> = {
      stage: task.stage,
      step,
      totalSteps,
      stepsPerEpoch,
      data: { epoch, offset: (step % stepsPerEpoch) * unitsPerStep, units: task.size },
      rng: rng.getState(),
      fingerprint,
      log,
      evalLog,
    };
    checkpoint = await saveCheckpoint(
      o.checkpointDir,
      model,
      optimizer,
      state,
      o.keepCheckpoints ?? 2,
    );
    return checkpoint;
  };
  const stop = async (step: number): Promise<never> => {
    const saved = checkpoint?.endsWith(`checkpoint-${step}`)
      ? checkpoint
      : await checkpointAt(step);
    const reason = o.signal?.reason instanceof Error ? o.signal.reason.message : 'cancelled';
    throw new CancelledError(`${reason}; checkpoint saved at ${saved} (resume to continue)`);
  };
  const evaluate = async (step: number): Promise<void> => {
    if (!task.evaluate) return;
    const result = await task.evaluate(o.signal).catch((error: unknown) => {
      if (o.signal?.aborted && step > 0) return stop(step);
      throw error;
    });
    evalLog.push({ step, ...result });
    o.onProgress?.({
      stage: task.stage,
      step,
      total: totalSteps,
      elapsed: (performance.now() - began) / 1000,
      metrics: { eval_loss: result.loss, ...prefixed(result.metrics, 'eval_') },
      message: `eval loss ${result.loss.toFixed(4)}`,
    });
  };

  if (o.evalOnStart && evalLog.length === 0) await evaluate(0);
  for (let step = start; step < totalSteps; step++) {
    const epoch = Math.floor(step / stepsPerEpoch);
    if (epoch !== orderEpoch) {
      order = Array.from({ length: task.size }, (_, i) => i);
      if (o.shuffle ?? true) new Rng(o.seed).fork(`epoch:${epoch}`).shuffle(order);
      orderEpoch = epoch;
    }
    const offset = (step % stepsPerEpoch) * unitsPerStep;
    const units = order.slice(offset, offset + unitsPerStep);
    let lossSum = 0;
    let weight = 0;
    let tokens = 0;
    const metricSums: Record<string, number> = {};
    for (let m = 0; m * o.batchSize < units.length; m++) {
      if (o.signal?.aborted) await stop(step);
      const r = await task.forwardBackward(units.slice(m * o.batchSize, (m + 1) * o.batchSize));
      if (!Number.isFinite(r.lossSum))
        throw new TrainingDivergedError(step + 1, `the loss is ${r.lossSum}`, checkpoint);
      if (acc) accumulate(acc, task.grads);
      lossSum += r.lossSum;
      weight += r.weight;
      tokens += r.tokens;
      for (const [k, v] of Object.entries(r.metricSums ?? {}))
        metricSums[k] = (metricSums[k] ?? 0) + v;
    }
    const grads = acc ?? task.grads;
    const norm = gradNorm(grads, model.params) / weight;
    if (!Number.isFinite(norm))
      throw new TrainingDivergedError(step + 1, `the gradient norm is ${norm}`, checkpoint);
    const maxNorm = o.maxGradNorm ?? 1;
    const clip = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
    const lr = learningRate(schedule, step);
    optimizer.step(grads, { lr, gradScale: clip / weight });
    acc?.zero();
    tokensSeen += tokens;
    const metrics = Object.fromEntries(Object.entries(metricSums).map(([k, v]) => [k, v / weight]));
    const record: StepRecord = {
      step: step + 1,
      loss: lossSum / weight,
      lr,
      gradNorm: norm,
      tokens,
      epoch: (step + 1) / stepsPerEpoch,
      metrics,
    };
    log.push(record);
    const elapsed = (performance.now() - began) / 1000;
    const done = step + 1 - start;
    o.onProgress?.({
      stage: task.stage,
      step: step + 1,
      total: totalSteps,
      loss: record.loss,
      rate: elapsed > 0 ? tokensSeen / elapsed : undefined,
      rateUnit: 'tok/s',
      elapsed,
      eta: ((totalSteps - step - 1) * elapsed) / done,
      metrics: { lr, epoch: record.epoch, grad_norm: norm, ...metrics },
    });
    if (o.evalEvery && (step + 1) % o.evalEvery === 0) await evaluate(step + 1);
    if (o.saveEvery && (step + 1) % o.saveEvery === 0) await checkpointAt(step + 1);
  }
  if (task.evaluate && evalLog.at(-1)?.step !== totalSteps) await evaluate(totalSteps);
  const seconds = (performance.now() - began) / 1000;
  return {
    steps: log.length,
    log,
    evalLog,
    checkpoint,
    resumedFrom: start,
    seconds,
    tokensPerSecond: seconds > 0 ? tokensSeen / seconds : 0,
  };
}

function prefixed(metrics: Record<string, number>, prefix: string): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [prefix + k, v]));
}
