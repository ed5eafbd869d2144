import { checkLayout, type Optimizer, type OptimizerState } from './optim.ts';
import type { ParamSet } from './params.ts';

/** Options for {@link SGD}. */
export interface SGDOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum factor (default 0: plain SGD). */
  momentum?: number;
  /** Dampening of the momentum's gradient term (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient, as `torch.optim.SGD` (default 0). */
  weightDecay?: number;
  /** Nesterov momentum. */
  nesterov?: boolean;
}

/** SGD with momentum, as `torch.optim.SGD`. */
export class SGD implements Optimizer {
  private readonly buf: Float32Array;
  private steps = 0;
  private readonly config: Required<SGDOptions>;

  constructor(
    private readonly params: ParamSet,
    options: SGDOptions,
  ) {
    this.buf = new Float32Array(params.length);
    this.config = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options };
  }

  /** Updates applied so far. */
  get stepCount(): number {
    return this.steps;
  }

  /** Applies one SGD update (see {@link Optimizer.step}). */
  step(grads: ParamSet, options: { lr?: number; gradScale?: number } = {}): void {
    checkLayout(this.params, grads, 'gradients');
    const { momentum, dampening, weightDecay, nesterov } = this.config;
    const lr = Math.fround(options.lr ?? this.config.lr);
    const scale = Math.fround(options.gradScale ?? 1);
    const first = this.steps === 0;
    // `storage`: a released frozen base (LoRA) is not read back for an update it takes no part in.
    const p = this.params.storage;
    const g = grads.data;
    const b = this.buf;
    const f = Math.fround;
    this.params.markWeightsChanged((e) => e.trainable);
    for (const [start, end] of this.params.trainableRanges()) {
      for (let i = start; i < end; i++) {
        let d = f(g[i] * scale);
        if (weightDecay !== 0) d = f(d + f(weightDecay * p[i]));
        if (momentum !== 0) {
          b[i] = first ? d : f(f(b[i] * momentum) + f(d * (1 - dampening)));
          d = nesterov ? f(d + f(b[i] * momentum)) : b[i];
        }
        p[i] = f(p[i] - f(lr * d));
      }
    }
    this.steps++;
  }

  /** A copy of the momentum buffer and step count. */
  state(): OptimizerState {
    return {
      kind: 'sgd',
      step: this.steps,
      config: { ...this.config, nesterov: this.config.nesterov ? 1 : 0 },
      buffers: { momentum: this.buf.slice() },
    };
  }

  /** Restores the momentum buffer and step count. */
  load(state: OptimizerState): void {
    if (state.kind !== 'sgd') throw new Error(`SGD.load: state is from ${state.kind}`);
    checkLayout(this.params, state.buffers.momentum, 'optimizer state');
    this.buf.set(state.buffers.momentum);
    this.steps = state.step;
  }

  /** Zeroes the momentum buffer and the step count. */
  reset(): void {
    this.buf.fill(0);
    this.steps = 0;
  }
}
