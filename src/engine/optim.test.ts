import { describe, expect, it } from 'vitest';
import { clipGradNorm, gradNorm, type Optimizer } from './optim.ts';
import { AdamW } from './adamw.ts';
import { SGD } from './sgd.ts';
import { ParamSet } from './params.ts';
import { learningRate, warmupSteps } from './schedule.ts';
import { decode, loadFixture, maxAbsDiff, type Stored } from './testing.ts';

interface OptimFixture {
  config: { maxNorm: number };
  params: Stored;
  grads: Stored[];
  adamw: Stored[];
  sgd: Stored[];
  nesterov: Stored[];
}

const fx = loadFixture<OptimFixture>('parity_optim.json');

function trajectory(make: (p: ParamSet) => Optimizer): number[][] {
  const params = new ParamSet([{ name: 'w', shape: [37] }]);
  params.view('w').set(decode(fx.params));
  const grads = ParamSet.zerosLike(params);
  const opt = make(params);
  return fx.grads.map((g) => {
    grads.view('w').set(decode(g));
    opt.step(grads, { gradScale: clipGradNorm(grads, fx.config.maxNorm).scale });
    return Array.from(params.view('w'));
  });
}

/** Gradients of the same layout as `p`, all equal to `value`. */
function filled(p: ParamSet, value: number): ParamSet {
  const g = ParamSet.zerosLike(p);
  g.data.fill(value);
  return g;
}

describe('optimizers against torch.optim (3 clipped steps)', () => {
  it('AdamW(params, {lr, beta1, beta2, eps, weightDecay}) follows torch.optim.AdamW', () => {
    const ours = trajectory(
      (p) => new AdamW(p, { lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1 }),
    );
    ours.forEach((step, i) => expect(maxAbsDiff(step, decode(fx.adamw[i]))).toBeLessThan(2e-7));
  });

  it('SGD(params, {momentum, dampening, weightDecay}) and nesterov follow torch.optim.SGD', () => {
    const sgd = trajectory(
      (p) => new SGD(p, { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }),
    );
    sgd.forEach((step, i) => expect(maxAbsDiff(step, decode(fx.sgd[i]))).toBeLessThan(2e-7));
    const nesterov = trajectory((p) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true }));
    nesterov.forEach((step, i) =>
      expect(maxAbsDiff(step, decode(fx.nesterov[i]))).toBeLessThan(2e-7),
    );
  });
});

describe('AdamW', () => {
  it('step(grads, {lr}) equals the hand-computed first update; noDecay and frozen parameters are respected', () => {
    const params = new ParamSet([
      { name: 'w', shape: [2] },
      { name: 'b', shape: [1] },
      { name: 'frozen', shape: [1], trainable: false },
    ]);
    params.view('w').set([1, -2]);
    params.view('b').set([0.5]);
    params.view('frozen').set([3]);
    const grads = ParamSet.zerosLike(params);
    grads.view('w').set([0.1, 0.4]);
    grads.view('b').set([-1]);
    grads.view('frozen').set([1]);
    const opt = new AdamW(params, { lr: 0.1, weightDecay: 0.5, noDecay: (n) => n === 'b' });
    opt.step(grads, { lr: 0.2 });
    // Step 1: m̂ = g, v̂ = g², so the update is lr * g / (|g| + eps) = ±lr (nearly).
    const update = (g: number): number => (0.2 * g) / (Math.abs(g) + 1e-8);
    expect(params.view('w')[0]).toBeCloseTo(1 * (1 - 0.2 * 0.5) - update(0.1), 6);
    expect(params.view('w')[1]).toBeCloseTo(-2 * (1 - 0.2 * 0.5) - update(0.4), 6);
    expect(params.view('b')[0]).toBeCloseTo(0.5 - update(-1), 6);
    expect(params.view('frozen')[0]).toBe(3);
    expect(opt.stepCount).toBe(1);
  });

  it('reset() makes an optimizer behave as a new one', () => {
    const fresh = trajectory((p) => new AdamW(p, { lr: 0.01 }));
    const reused = trajectory((p) => {
      const opt = new AdamW(p, { lr: 0.01 });
      const before = p.snapshot();
      opt.step(filled(p, 0.5));
      opt.reset();
      p.restore(before);
      return opt;
    });
    expect(reused).toEqual(fresh);
  });

  it('streams the moments through the kernel (residentState: false) with bit-identical results', () => {
    const run = (residentState: boolean): number[] =>
      trajectory(
        (p) =>
          new AdamW(p, {
            lr: 0.01,
            beta1: 0.8,
            beta2: 0.95,
            eps: 1e-6,
            weightDecay: 0.1,
            residentState,
          }),
      ).flat();
    expect(run(false)).toEqual(run(true));
  });

  it('state() and load(state) resume with bit-identical updates', () => {
    const make = (): { params: ParamSet; grads: ParamSet } => {
      const params = new ParamSet([{ name: 'w', shape: [100] }]);
      params.view('w').set(decode(fx.params).concat(new Array(63).fill(0.25)));
      const grads = ParamSet.zerosLike(params);
      return { params, grads };
    };
    const stepWith = (opt: AdamW, grads: ParamSet, k: number): void => {
      grads.view('w').set(Array.from({ length: 100 }, (_, i) => Math.sin(i * 0.37 + k)));
      opt.step(grads);
    };
    const a = make();
    const optA = new AdamW(a.params, { lr: 0.01 });
    for (let k = 0; k < 2; k++) stepWith(optA, a.grads, k);
    const saved = optA.state();
    const snapshot = a.params.snapshot();
    for (let k = 2; k < 4; k++) stepWith(optA, a.grads, k);

    const b = make();
    b.params.restore(snapshot);
    const optB = new AdamW(b.params, { lr: 0.01 });
    optB.load(saved);
    for (let k = 2; k < 4; k++) stepWith(optB, b.grads, k);
    expect(optB.stepCount).toBe(4);
    expect(Array.from(b.params.data)).toEqual(Array.from(a.params.data));
    expect(() => new SGD(b.params, { lr: 1 }).load(saved)).toThrow('state is from adamw');
  });
});

describe('clipGradNorm(grads, maxNorm)', () => {
  it('returns the global L2 norm over trainable parameters and the torch clip factor', () => {
    const params = new ParamSet([
      { name: 'a', shape: [2] },
      { name: 'b', shape: [1], trainable: false },
    ]);
    const grads = ParamSet.zerosLike(params);
    grads.view('a').set([3, 4]);
    grads.view('b').set([100]);
    expect(gradNorm(grads)).toBeCloseTo(5, 12);
    expect(clipGradNorm(grads, 1).scale).toBeCloseTo(1 / (5 + 1e-6), 12);
    expect(clipGradNorm(grads, 10).scale).toBe(1);
  });
});

describe('learningRate(schedule, step)', () => {
  it('warms up linearly, then holds, decays linearly, or follows a cosine (HF conventions)', () => {
    const base = { lr: 1, totalSteps: 100 };
    expect(warmupSteps({ ...base, kind: 'cosine', warmup: { fraction: 0.1 } })).toBe(10);
    expect(warmupSteps({ ...base, kind: 'cosine', warmup: { fraction: 0.015 } })).toBe(2);
    const cosine = { ...base, kind: 'cosine' as const, warmup: { fraction: 0.1 } };
    expect(learningRate(cosine, 0)).toBe(0);
    expect(learningRate(cosine, 5)).toBeCloseTo(0.5, 12);
    expect(learningRate(cosine, 10)).toBe(1);
    expect(learningRate(cosine, 55)).toBeCloseTo(0.5, 12);
    expect(learningRate(cosine, 100)).toBeCloseTo(0, 12);
    const linear = { ...base, kind: 'linear' as const, warmup: { steps: 20 } };
    expect(learningRate(linear, 10)).toBeCloseTo(0.5, 12);
    expect(learningRate(linear, 60)).toBeCloseTo(0.5, 12);
    expect(learningRate(linear, 120)).toBe(0);
    expect(learningRate({ ...base, kind: 'constant', warmup: { steps: 4 } }, 2)).toBe(0.5);
    expect(learningRate({ ...base, kind: 'constant' }, 99)).toBe(1);
    expect(learningRate({ ...cosine, minLrRatio: 0.1 }, 100)).toBeCloseTo(0.1, 12);
  });
});
