import type { CausalLM } from '../model/causal-lm.ts';
import { presetConfig } from '../model/init.ts';
import { TRAIN_PRESETS, type LoopHyper } from './knobs/loop.ts';

export { TRAIN_PRESETS, type LoopHyper };

/** A hyper-parameter preset name. */
export type TrainPreset = (typeof TRAIN_PRESETS)[number];

/** DPO's own settings. */
export interface DpoHyper extends LoopHyper {
  /** Strength of the KL penalty towards the reference. */
  beta: number;
}

/** Test-time training settings. */
export interface TttHyper {
  /** Neighbours retrieved per question. */
  k: number;
  /** Optimizer steps per neighbour. */
  steps: number;
  /** Learning rate (fresh optimizer per question). */
  lr: number;
}

/**
 * SFT presets. `paper` follows FineMedLM-o1 (lr 5e-6, cosine, warmup 0.1, weight decay 0.01);
 * its batch sizes are ours (the paper does not state them). Models trained from scratch at
 * tiny sizes need far larger rates: `tiny` and `demo` are tuned for the built-in models.
 */
export const SFT_PRESETS: Record<TrainPreset, LoopHyper> = {
  tiny: {
    // Near the peak rate one step can overshoot (Adam moves the small attention q/k biases by
    // ~10% at once) and the loss jumps for a step, e.g. 5.2 -> 6.8 at step 13 of a tiny
    // pretraining run; it recovers the next step and still ends below 1.5e-3 or 1e-3.
    lr: 3e-3,
    epochs: 3,
    batchSize: 8,
    gradAccum: 1,
    maxLength: 256,
    schedule: 'cosine',
    warmup: { fraction: 0.1 },
    weightDecay: 0.01,
    maxGradNorm: 1,
  },
  demo: {
    lr: 1e-3,
    epochs: 2,
    batchSize: 8,
    gradAccum: 1,
    // The demo model's whole context: long-reasoning answers and DPO pairs fit uncut.
    maxLength: 512,
    schedule: 'cosine',
    warmup: { fraction: 0.1 },
    weightDecay: 0.01,
    maxGradNorm: 1,
  },
  paper: {
    lr: 5e-6,
    epochs: 1,
    batchSize: 4,
    gradAccum: 8,
    maxLength: 2048,
    schedule: 'cosine',
    warmup: { fraction: 0.1 },
    weightDecay: 0.01,
    maxGradNorm: 1,
  },
};

/** DPO presets. `paper`: lr 1e-7, beta 0.1, sigmoid loss; `tiny`/`demo` scale the rate for small models. */
export const DPO_PRESETS: Record<TrainPreset, DpoHyper> = {
  tiny: { ...SFT_PRESETS.tiny, lr: 2e-4, epochs: 2, batchSize: 4, beta: 0.1 },
  demo: { ...SFT_PRESETS.demo, lr: 5e-5, epochs: 1, batchSize: 4, beta: 0.1 },
  paper: { ...SFT_PRESETS.paper, lr: 1e-7, beta: 0.1 },
};

/** TTT presets. `paper`: one neighbour, one step, lr 1e-5. */
export const TTT_PRESETS: Record<TrainPreset, TttHyper> = {
  tiny: { k: 1, steps: 1, lr: 1e-3 },
  demo: { k: 1, steps: 1, lr: 3e-4 },
  paper: { k: 1, steps: 1, lr: 1e-5 },
};

/** The preset a model's shape matches (`tiny` or `demo` for the built-in sizes), else `paper`. */
export function presetFor(model: Pick<CausalLM, 'config'>): TrainPreset {
  for (const preset of ['tiny', 'demo'] as const) {
    const shape = presetConfig(preset);
    const c = model.config;
    if (
      c.hiddenSize === shape.hiddenSize &&
      c.numLayers === shape.numLayers &&
      c.numHeads === shape.numHeads &&
      c.intermediateSize === shape.intermediateSize
    )
      return preset;
  }
  return 'paper';
}
