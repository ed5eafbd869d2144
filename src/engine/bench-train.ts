import { Rng } from '../core/rng.ts';
import { buildGpt, gptParamCount, initGpt, type GptConfig } from './gpt.ts';
import { Graph } from './graph.ts';
import { matmul } from './ops-nn.ts';
import { clipGradNorm } from './optim.ts';
import { AdamW } from './adamw.ts';
import { ParamSet } from './params.ts';
import { OrtTensorClass, Session, type OrtTensor } from './session.ts';
import { TrainingStep } from './train-step.ts';

/** A training benchmark shape: a GPT and its batch. */
export interface TrainBenchConfig extends GptConfig {
  /** Short name, e.g. `d256-l4`. */
  name: string;
  /** Sequences per step. */
  batch: number;
  /** Tokens per sequence. */
  seq: number;
}

/** The two benchmark configurations. */
export const TRAIN_BENCH_CONFIGS: readonly TrainBenchConfig[] = [
  {
    name: 'd256-l4',
    vocab: 4096,
    dModel: 256,
    layers: 4,
    heads: 4,
    maxSeq: 128,
    batch: 16,
    seq: 128,
  },
  {
    name: 'd512-l8',
    vocab: 4096,
    dModel: 512,
    layers: 8,
    heads: 8,
    maxSeq: 128,
    batch: 16,
    seq: 128,
  },
];

/** Timings of one benchmark process (medians over the timed steps). */
export interface TrainBenchRound {
  /** Tokens per second of a full step. */
  tokensPerSec: number;
  /** Full step (forward, backward, clip, AdamW), ms. */
  stepMs: number;
  /** Forward + backward (one ORT run), ms. */
  forwardBackwardMs: number;
  /** Gradient clipping + AdamW update, ms. */
  optimizerMs: number;
  /**
   * Process CPU time per full step, ms (all threads; spin-waiting threads count too). With
   * one thread it is a load-robust measure of the work, for shared machines.
   */
  cpuMs: number;
  /** Final loss, a sanity check that training ran. */
  loss: number;
}

/**
 * Model FLOPs of one training step: 3x the forward's matmul FLOPs (blocks, tied head, and
 * attention scores and values at full T x T), the usual convention for utilisation.
 */
export function trainStepFlops(c: TrainBenchConfig): number {
  const d = c.dModel;
  const mlp = d * (c.mlpRatio ?? 4);
  const perToken =
    2 * (c.layers * (4 * d * d + 2 * d * mlp) + c.vocab * d) + 4 * c.seq * d * c.layers;
  return 3 * perToken * c.batch * c.seq;
}

/** The parameter count of a benchmark config. */
export function benchParamCount(c: TrainBenchConfig): number {
  return gptParamCount(c);
}

/** The median of some numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Options for {@link runTrainBench}. */
export interface TrainBenchOptions {
  /** Timed steps (default 5). */
  steps?: number;
  /** Untimed warm-up steps first (default 2). */
  warmup?: number;
  /** ORT intra-op threads. */
  threads?: number;
  /** Write an ORT profile with this prefix (timings then include profiling overhead). */
  profilePrefix?: string;
  /** Stops between steps. */
  signal?: AbortSignal;
}

/** Builds the config's GPT and times full training steps on random tokens. */
export async function runTrainBench(
  c: TrainBenchConfig,
  o: TrainBenchOptions = {},
): Promise<TrainBenchRound> {
  const g = new Graph({ name: `bench-${c.name}` });
  const ids = g.input('ids', 'int64', [c.batch, c.seq]);
  const targets = g.input('targets', 'int64', [c.batch, c.seq]);
  const { loss } = buildGpt(g, c, ids, targets);
  const params = ParamSet.fromGraph(g);
  const rng = new Rng(1);
  initGpt(params, c, rng.fork('init'));
  const step = await TrainingStep.create(g, loss!, params, {
    threads: o.threads,
    profilePrefix: o.profilePrefix,
  });
  const opt = new AdamW(params, { lr: 3e-4 });
  const tokens = (): OrtTensor =>
    new OrtTensorClass(
      'int64',
      BigInt64Array.from({ length: c.batch * c.seq }, () => BigInt(rng.int(c.vocab))),
      [c.batch, c.seq],
    );
  const fb: number[] = [];
  const op: number[] = [];
  const cpuTimes: number[] = [];
  let last = NaN;
  for (let s = 0; s < (o.warmup ?? 2) + (o.steps ?? 5); s++) {
    o.signal?.throwIfAborted();
    const feeds = { ids: tokens(), targets: tokens() };
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    last = (await step.run(feeds)).loss;
    const t1 = performance.now();
    opt.step(step.grads, { gradScale: clipGradNorm(step.grads, 1, params).scale });
    const t2 = performance.now();
    if (s >= (o.warmup ?? 2)) {
      fb.push(t1 - t0);
      op.push(t2 - t1);
      const used = process.cpuUsage(cpu);
      cpuTimes.push((used.user + used.system) / 1000);
    }
  }
  if (o.profilePrefix) step.session.endProfiling();
  await step.dispose();
  const stepMs = median(fb.map((v, i) => v + op[i]));
  return {
    tokensPerSec: (c.batch * c.seq * 1000) / stepMs,
    stepMs,
    forwardBackwardMs: median(fb),
    optimizerMs: median(op),
    cpuMs: median(cpuTimes),
    loss: last,
  };
}

/** Matmul shapes `[m, k, n]` the peak is measured on: square, and the training step's own. */
const PEAK_SHAPES: readonly [number, number, number][] = [
  [1024, 1024, 1024],
  [2048, 256, 1024],
  [2048, 512, 2048],
];

/**
 * The machine's fp32 matmul throughput through ORT (GFLOP/s): the best single run over a few
 * shapes (square, and ones the benchmark's steps use), a ceiling for the step's GEMMs.
 */
export async function measureMatmulPeak(threads?: number, repeats = 6): Promise<number> {
  const rng = new Rng(3);
  let best = 0;
  for (const [m, k, n] of PEAK_SHAPES) {
    const g = new Graph({ name: 'matmul-peak' });
    g.output(matmul(g.input('a', 'float32', [m, k]), g.input('b', 'float32', [k, n])), 'y');
    const session = await Session.create(g, { threads });
    const fill = (rows: number, cols: number): OrtTensor =>
      new OrtTensorClass('float32', rng.fillNormal(new Float32Array(rows * cols), 0.1), [
        rows,
        cols,
      ]);
    const feeds = { a: fill(m, k), b: fill(k, n) };
    const out = { y: new OrtTensorClass('float32', new Float32Array(m * n), [m, n]) };
    for (let r = 0; r < repeats + 1; r++) {
      const t0 = performance.now();
      await session.run(feeds, out);
      if (r > 0) best = Math.max(best, (2 * m * k * n) / ((performance.now() - t0) / 1000) / 1e9);
    }
    await session.dispose();
  }
  return best;
}
