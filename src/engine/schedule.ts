/** Learning-rate schedule shapes (after warmup). */
export type ScheduleKind = 'constant' | 'linear' | 'cosine';

/** Warmup length: a fraction of the total steps (rounded up, as HF) or a step count. */
export type Warmup = { fraction: number } | { steps: number };

/** A learning-rate schedule. */
export interface ScheduleOptions {
  /** Shape after warmup. */
  kind: ScheduleKind;
  /** Peak learning rate. */
  lr: number;
  /** Total optimizer steps (linear and cosine reach their floor here). */
  totalSteps: number;
  /** Linear warmup from 0 (default none). */
  warmup?: Warmup;
  /** Floor as a fraction of `lr` for linear and cosine decay (default 0). */
  minLrRatio?: number;
}

/** Warmup steps of a schedule. */
export function warmupSteps(o: ScheduleOptions): number {
  if (!o.warmup) return 0;
  return 'steps' in o.warmup ? o.warmup.steps : Math.ceil(o.totalSteps * o.warmup.fraction);
}

/**
 * The learning rate for 0-based optimizer step `step`, matching Hugging Face's
 * `get_{constant,linear,cosine}_schedule_with_warmup` (the first warmup step has rate 0).
 */
export function learningRate(o: ScheduleOptions, step: number): number {
  const warm = warmupSteps(o);
  if (step < warm) return (o.lr * step) / Math.max(1, warm);
  if (o.kind === 'constant') return o.lr;
  const progress = (step - warm) / Math.max(1, o.totalSteps - warm);
  const factor =
    o.kind === 'linear'
      ? Math.max(0, 1 - progress)
      : Math.max(0, 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
  const floor = o.minLrRatio ?? 0;
  return o.lr * (floor + (1 - floor) * factor);
}
