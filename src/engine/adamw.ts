import { checkLayout, type Optimizer, type OptimizerState } from './optim.ts';
import type { ParamSet } from './params.ts';
import { CHUNK, createKernels, scratchKernels, type Kernels } from './wasm-kernels.ts';

/** Options for {@link AdamW}. */
export interface AdamWOptions {
  /** Learning rate (overridden per step by a schedule). */
  lr: number;
  /** First-moment decay (default 0.9). */
  beta1?: number;
  /** Second-moment decay (default 0.999). */
  beta2?: number;
  /** Denominator epsilon (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay (default 0.01, as PyTorch). */
  weightDecay?: number;
  /** Parameters exempt from weight decay (HF trains biases and norms without it). */
  noDecay?: (name: string) => boolean;
  /** Keep the moments in the kernel's WebAssembly memory (default: when they fit in 2 GiB). */
  residentState?: boolean;
}

/**
 * AdamW with decoupled weight decay and bias correction, as `torch.optim.AdamW`, over fp32
 * master weights. The update runs in a WebAssembly SIMD kernel; the moments live in the
 * kernel's memory when they fit in 2 GiB (else they stream through it with the weights).
 */
export class AdamW implements Optimizer {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private readonly kernels: Kernels;
  private readonly resident: boolean;
  private steps = 0;
  private readonly config: Required<Omit<AdamWOptions, 'noDecay' | 'residentState'>>;

  constructor(
    private readonly params: ParamSet,
    private readonly options: AdamWOptions,
  ) {
    const n = params.length;
    const kernels = options.residentState === false ? undefined : residentKernels(n);
    this.resident = kernels !== undefined;
    this.kernels = kernels ?? scratchKernels();
    [this.m, this.v] = kernels ? kernels.resident : [new Float32Array(n), new Float32Array(n)];
    const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01 } = options;
    this.config = { lr, beta1, beta2, eps, weightDecay };
  }

  /** Updates applied so far. */
  get stepCount(): number {
    return this.steps;
  }

  /** Applies one AdamW update (see {@link Optimizer.step}). */
  step(grads: ParamSet, options: { lr?: number; gradScale?: number } = {}): void {
    checkLayout(this.params, grads, 'gradients');
    this.steps++;
    const { beta1, beta2, eps, weightDecay } = this.config;
    const lr = options.lr ?? this.config.lr;
    const k = this.kernels;
    const common = {
      beta1,
      beta2,
      eps,
      stepSize: lr / (1 - beta1 ** this.steps),
      bc2Sqrt: Math.sqrt(1 - beta2 ** this.steps),
      gradScale: options.gradScale ?? 1,
    };
    const noDecay = this.options.noDecay ?? (() => false);
    const groups: [[number, number][], number][] = [
      [this.params.trainableRanges((e) => !noDecay(e.name)), 1 - lr * weightDecay],
      [this.params.trainableRanges((e) => noDecay(e.name)), 1],
    ];
    // `storage`: a released frozen base (LoRA) is not read back for an update it takes no part in.
    const p = this.params.storage;
    const g = grads.data;
    this.params.markWeightsChanged((e) => e.trainable);
    for (const [ranges, decay] of groups) {
      for (const [start, end] of ranges) {
        for (let off = start; off < end; off += CHUNK) {
          const n = Math.min(CHUNK, end - off);
          k.p.set(p.subarray(off, off + n));
          k.g.set(g.subarray(off, off + n));
          if (!this.resident) {
            k.resident[0].set(this.m.subarray(off, off + n));
            k.resident[1].set(this.v.subarray(off, off + n));
          }
          k.adamw(n, this.resident ? off : 0, { ...common, decay });
          p.set(k.p.subarray(0, n), off);
          if (!this.resident) {
            this.m.set(k.resident[0].subarray(0, n), off);
            this.v.set(k.resident[1].subarray(0, n), off);
          }
        }
      }
    }
  }

  /** A copy of the moments and step count. */
  state(): OptimizerState {
    return {
      kind: 'adamw',
      step: this.steps,
      config: { ...this.config },
      buffers: { m: this.m.slice(), v: this.v.slice() },
    };
  }

  /** Restores moments and step count. */
  load(state: OptimizerState): void {
    if (state.kind !== 'adamw') throw new Error(`AdamW.load: state is from ${state.kind}`);
    checkLayout(this.params, state.buffers.m, 'optimizer state');
    this.m.set(state.buffers.m);
    this.v.set(state.buffers.v);
    this.steps = state.step;
  }

  /** Zeroes the moments and the step count. */
  reset(): void {
    this.m.fill(0);
    this.v.fill(0);
    this.steps = 0;
  }
}

function residentKernels(floats: number): Kernels | undefined {
  try {
    return createKernels(2, floats);
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}
