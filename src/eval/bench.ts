import type { ProgressSink } from '../core/progress.ts';
import { evaluate, type EvalModel } from './run.ts';
import type { EvalItem, LoadedBenchmark } from './types.ts';

/** How to time an evaluation. */
export interface EvalBenchOptions {
  /** Items per mode; the benchmark's items are cycled to reach it. */
  items: number;
  /** Reply budget in generate mode. */
  maxTokens: number;
  /** Modes warmed up and timed (default both). */
  modes?: readonly EvalBenchMode[];
  /** Items per model call. */
  batchSize?: number;
  /** Receives progress events of each timed run. */
  onProgress?: ProgressSink;
  /** Cancels. */
  signal?: AbortSignal;
}

/** The scoring modes {@link benchEval} can time. */
export const EVAL_BENCH_MODES = ['loglik', 'generate'] as const;

/** A scoring mode {@link benchEval} can time. */
export type EvalBenchMode = (typeof EVAL_BENCH_MODES)[number];

/** Throughput of one scoring mode. */
export interface ModeThroughput {
  /** Items scored. */
  items: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** Items per second. */
  items_per_s: number;
  /**
   * CPU seconds of this process per wall second (ONNX Runtime's threads included): about the
   * thread count on an idle machine, lower when other processes took the cores.
   */
  cpu_per_wall: number;
}

/** What `finemed bench eval` prints. */
export interface EvalBenchResult {
  /** Seconds of the untimed warm-up (graph compilation, first session runs). */
  warmup_s: number;
  /** Log-likelihood mode, when timed. */
  loglik?: ModeThroughput;
  /** Generate mode (every reply may run to `max_tokens` on an untrained model), when timed. */
  generate?: ModeThroughput & { max_tokens: number };
}

/** `count` items taken round-robin from `items`, with ids kept unique. */
export function cycleItems(items: readonly EvalItem[], count: number): EvalItem[] {
  if (items.length === 0) throw new RangeError('cycleItems: no items');
  return Array.from({ length: count }, (_, i) => {
    const item = items[i % items.length];
    return i < items.length ? item : { ...item, id: `${item.id}#${Math.floor(i / items.length)}` };
  });
}

/**
 * Questions per second in each mode asked: one untimed item per mode first (so graph
 * compilation is reported apart), then `items` items timed per mode.
 */
export async function benchEval(
  model: EvalModel,
  benchmark: LoadedBenchmark,
  opts: EvalBenchOptions,
): Promise<EvalBenchResult> {
  const timed = { ...benchmark, items: cycleItems(benchmark.items, opts.items) };
  const warm = { ...benchmark, items: benchmark.items.slice(0, 1) };
  const common = { batchSize: opts.batchSize, signal: opts.signal, resamples: 100 };
  const modes = opts.modes ?? EVAL_BENCH_MODES;
  const began = performance.now();
  for (const mode of modes)
    await evaluate(warm, model, { ...common, mode, maxTokens: opts.maxTokens });
  const warmup = (performance.now() - began) / 1000;
  const measure = async (mode: EvalBenchMode): Promise<ModeThroughput | undefined> => {
    if (!modes.includes(mode)) return undefined;
    const start = performance.now();
    const cpu = process.cpuUsage();
    await evaluate(timed, model, {
      ...common,
      mode,
      maxTokens: opts.maxTokens,
      onProgress: opts.onProgress,
    });
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    return {
      items: opts.items,
      seconds,
      items_per_s: opts.items / seconds,
      cpu_per_wall: (used.user + used.system) / 1e6 / seconds,
    };
  };
  const loglik = await measure('loglik');
  const generate = await measure('generate');
  return {
    warmup_s: warmup,
    loglik,
    generate: generate && { ...generate, max_tokens: opts.maxTokens },
  };
}
