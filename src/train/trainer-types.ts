import type { ProgressSink } from '../core/progress.ts';
import type { ParamSet } from '../engine/index.ts';
import type { EvalRecord, StepRecord } from './checkpoints.ts';
import type { LoopHyper } from './knobs/loop.ts';
import type { MicroResult } from './lm-loss.ts';

/** A training stage as the trainer drives it: units (rows or pairs) in, gradients out. */
export interface TrainTask {
  /** Stage name in progress events, e.g. `sft`. */
  stage: string;
  /** How many training units there are. */
  size: number;
  /** Where {@link TrainTask.forwardBackward} writes the gradients. */
  grads: ParamSet;
  /** Forward and backward on these units (indices into the training set). */
  forwardBackward(units: readonly number[]): Promise<MicroResult>;
  /** Mean loss and metrics on held-out data, when the stage has any. */
  evaluate?(signal?: AbortSignal): Promise<Omit<EvalRecord, 'step'>>;
}

/**
 * Hyper-parameters and bookkeeping of a training run. The loop knobs keep their meaning from
 * `knobs/loop.ts`; unset, the trainer uses schedule `cosine`, no warmup, weight decay 0.01
 * (biases and norm weights exempt, as in HF), clipping at norm 1 (0 turns it off), one
 * micro-batch per step and one epoch (possibly fractional, as in Hugging Face).
 */
export interface TrainerOptions
  extends
    Pick<LoopHyper, 'lr' | 'batchSize'>,
    Partial<
      Pick<
        LoopHyper,
        'schedule' | 'warmup' | 'weightDecay' | 'maxGradNorm' | 'gradAccum' | 'epochs'
      >
    > {
  /** Where checkpoints go (`checkpoint-<step>/`). */
  checkpointDir: string;
  /** Seed of the data order. */
  seed: number;
  /** `adamw` (default) or `sgd`. */
  optimizer?: 'adamw' | 'sgd';
  /** Stop after this many optimizer steps (overrides epochs for the schedule length). */
  maxSteps?: number;
  /** Shuffle units each epoch (default true). */
  shuffle?: boolean;
  /** Evaluate every N steps (default 0: only at the end). */
  evalEvery?: number;
  /** Also evaluate before the first step (TRL's `eval_on_start`). */
  evalOnStart?: boolean;
  /** Checkpoint every N steps (default 0: only when cancelled). */
  saveEvery?: number;
  /** Checkpoints kept (default 2). */
  keepCheckpoints?: number;
  /** Continue from a checkpoint: `true` (the last in `checkpointDir`; one must exist), `auto` (if any), or a folder. */
  resume?: boolean | 'auto' | string;
  /** Everything that defines the run; a checkpoint only resumes a run with the same fingerprint. */
  fingerprint?: unknown;
  /** Receives one event per optimizer step (and per evaluation). */
  onProgress?: ProgressSink;
  /**
   * Receives one-line notices a user should see once, not as a redrawn progress line: which
   * checkpoint the run resumes from, damaged checkpoints skipped, dead writes cleaned up (each
   * is also a progress event's `message`).
   */
  onNotice?: (message: string) => void;
  /** Stops the run between micro-batches; a checkpoint is saved first. */
  signal?: AbortSignal;
}

/** What a run did. */
export interface TrainRun {
  /** Optimizer steps completed (including those before a resume). */
  steps: number;
  /** The loss curve. */
  log: StepRecord[];
  /** Held-out evaluations. */
  evalLog: EvalRecord[];
  /** The last checkpoint written, if any. */
  checkpoint: string | null;
  /** The step this session started from (non-zero after a resume). */
  resumedFrom: number;
  /** Wall seconds of this session. */
  seconds: number;
  /** Input tokens per second in this session. */
  tokensPerSecond: number;
}

/** Training stopped because the loss or the gradients stopped being finite numbers. */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
  constructor(
    /** The 1-based optimizer step that diverged. */
    readonly step: number,
    what: string,
    /** The last checkpoint written before it (kept), if any. */
    readonly checkpoint: string | null,
  ) {
    super(
      `training diverged at step ${step}: ${what} (lower the learning rate); ` +
        (checkpoint
          ? `the last good checkpoint is kept at ${checkpoint}`
          : 'no checkpoint was saved yet'),
    );
  }
}
