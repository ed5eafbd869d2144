import type { ParamSet } from './params.ts';
import { CHUNK, scratchKernels } from './wasm-kernels.ts';

/** Serialized optimizer state for checkpoints: plain numbers and typed arrays. */
export interface OptimizerState {
  /** Which optimizer wrote it. */
  kind: 'adamw' | 'sgd';
  /** Updates applied so far. */
  step: number;
  /** Hyper-parameters at save time. */
  config: Record<string, number>;
  /** Per-parameter buffers (moments), each laid out like the ParamSet arena. */
  buffers: Record<string, Float32Array>;
}

/** What every optimizer offers. */
export interface Optimizer {
  /** Updates applied so far. */
  readonly stepCount: number;
  /**
   * Applies one update to the trainable parameters from `grads` (same layout), at learning
   * rate `lr` (default: the configured one), with gradients multiplied by `gradScale`
   * (the clipping factor from {@link clipGradNorm}; default 1).
   */
  step(grads: ParamSet, options?: { lr?: number; gradScale?: number }): void;
  /** A copy of the state, for checkpoints. */
  state(): OptimizerState;
  /** Restores a state from {@link state} (same parameter layout). */
  load(state: OptimizerState): void;
  /**
   * Forgets all state (as a new optimizer, without reallocating): what test-time training
   * does between questions.
   */
  reset(): void;
}

/** Throws unless `other` has the parameters' arena length. */
export function checkLayout(params: ParamSet, other: ParamSet | Float32Array, what: string): void {
  const n = other.length;
  if (n !== params.length)
    throw new Error(`${what} has ${n} floats, parameters have ${params.length}`);
}

/** The global L2 norm of the trainable parameters' gradients (float64 accumulation). */
export function gradNorm(grads: ParamSet, params: ParamSet = grads): number {
  checkLayout(params, grads, 'gradients');
  const k = scratchKernels();
  let total = 0;
  for (const [start, end] of params.trainableRanges()) {
    for (let off = start; off < end; off += CHUNK) {
      const n = Math.min(CHUNK, end - off);
      k.g.set(grads.data.subarray(off, off + n));
      total += k.sumsq(n);
    }
  }
  return Math.sqrt(total);
}

/**
 * Global-norm clipping as `torch.nn.utils.clip_grad_norm_`: returns the norm and the factor
 * `min(1, maxNorm / (norm + 1e-6))` to pass as an optimizer's `gradScale` (no extra pass).
 */
export function clipGradNorm(
  grads: ParamSet,
  maxNorm: number,
  params: ParamSet = grads,
): { norm: number; scale: number } {
  const norm = gradNorm(grads, params);
  return { norm, scale: Math.min(1, maxNorm / (norm + 1e-6)) };
}
