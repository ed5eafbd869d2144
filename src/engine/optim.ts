import type { ParamSet } from './params.ts';
import { CHUNK, createKernels, scratchKernels, type Kernels } from './wasm-kernels.ts';

/** Arena ranges `[start, end)`. */
type Ranges = readonly (readonly [number, number])[];

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

function rangesOf(params: ParamSet, select: (name: string) => boolean): Ranges {
  const out: [number, number][] = [];
  params.entries.forEach((e, i) => {
    if (!e.trainable || !select(e.name)) return;
    const end = i + 1 < params.entries.length ? params.entries[i + 1].offset : params.data.length;
    const last = out[out.length - 1];
    if (last && last[1] === e.offset) last[1] = end;
    else out.push([e.offset, end]);
  });
  return out;
}

function checkLayout(params: ParamSet, other: ParamSet | Float32Array, what: string): void {
  const n = other instanceof Float32Array ? other.length : other.data.length;
  if (n !== params.data.length)
    throw new Error(`${what} has ${n} floats, parameters have ${params.data.length}`);
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
    const n = params.data.length;
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
    const groups: [Ranges, number][] = [
      [rangesOf(this.params, (n) => !noDecay(n)), 1 - lr * weightDecay],
      [rangesOf(this.params, noDecay), 1],
    ];
    const p = this.params.data;
    const g = grads.data;
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
    this.buf = new Float32Array(params.data.length);
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
    const p = this.params.data;
    const g = grads.data;
    const b = this.buf;
    const f = Math.fround;
    for (const [start, end] of rangesOf(this.params, () => true)) {
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

/** The global L2 norm of the trainable parameters' gradients (float64 accumulation). */
export function gradNorm(grads: ParamSet, params: ParamSet = grads): number {
  checkLayout(params, grads, 'gradients');
  const k = scratchKernels();
  let total = 0;
  for (const [start, end] of rangesOf(params, () => true)) {
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
