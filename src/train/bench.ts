import type { ProgressSink } from '../core/progress.ts';
import type { LoadedBenchmark } from '../eval/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import type { SessionOptions } from '../engine/index.ts';
import type { RetrievalIndex } from './retrieve/index.ts';
import { TestTimeTrainer } from './ttt.ts';
import { evaluateWithTtt, type TttRecord } from './ttt-eval.ts';

/** Latency of TTT at one k, in milliseconds per question. */
export interface TttLatency {
  /** Neighbours per question. */
  k: number;
  /** Steps per neighbour. */
  steps: number;
  /** Questions timed (after the warm-up ones). */
  items: number;
  /** Median milliseconds per phase, and of their total (retrieve + adapt + answer + restore). */
  median_ms: { retrieve: number; adapt: number; answer: number; restore: number; total: number };
  /** Mean total milliseconds per question. */
  mean_total_ms: number;
  /** Slowest total. */
  max_total_ms: number;
  /** Median milliseconds answering with the base weights (what a question costs without TTT). */
  median_base_answer_ms: number;
  /** Mean length, in characters, of the neighbours trained on. */
  mean_neighbour_chars: number;
}

/** What to time. */
export interface BenchTttOptions {
  /** k values to time (default 1 and 8). */
  ks?: number[];
  /** Steps per neighbour (default 1, as the paper). */
  steps?: number;
  /** Questions timed per k (default 10). */
  items?: number;
  /** Untimed questions first per k, while sessions compile and memory arenas grow (default 3). */
  warmup?: number;
  /** ONNX Runtime settings. */
  session?: SessionOptions;
  /** Receives one event per question. */
  onProgress?: ProgressSink;
  /** Stops the benchmark. */
  signal?: AbortSignal;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const total = (r: TttRecord): number =>
  r.timings_ms.retrieve + r.timings_ms.adapt + r.timings_ms.answer + r.timings_ms.restore;

/**
 * Times test-time training per question (retrieve, adapt, answer, restore) for each k: the
 * model adapts to each question's neighbours with one optimizer step each (lr is irrelevant to
 * speed), answers by log-likelihood, and is restored.
 */
export async function benchTtt(
  model: CausalLM,
  benchmark: LoadedBenchmark,
  index: RetrievalIndex,
  o: BenchTttOptions = {},
): Promise<TttLatency[]> {
  const results: TttLatency[] = [];
  const warmup = o.warmup ?? 3;
  const items = Math.min(o.items ?? 10, benchmark.items.length - warmup);
  for (const k of o.ks ?? [1, 8]) {
    const ttt = await TestTimeTrainer.create(model, index, {
      k,
      steps: o.steps ?? 1,
      lr: 1e-5,
      session: o.session,
    });
    try {
      const { records } = await evaluateWithTtt(
        { ...benchmark, items: benchmark.items.slice(0, warmup + items) },
        ttt,
        { onProgress: o.onProgress, signal: o.signal },
      );
      const timed = records.slice(warmup);
      const phase = (p: keyof TttRecord['timings_ms']) => median(timed.map((r) => r.timings_ms[p]));
      const totals = timed.map(total);
      const neighbours = timed.flatMap((r) => r.neighbours);
      results.push({
        k,
        steps: ttt.settings.steps,
        items: timed.length,
        median_ms: {
          retrieve: phase('retrieve'),
          adapt: phase('adapt'),
          answer: phase('answer'),
          restore: phase('restore'),
          total: median(totals),
        },
        mean_total_ms: totals.reduce((a, b) => a + b, 0) / totals.length,
        max_total_ms: Math.max(...totals),
        median_base_answer_ms: phase('before'),
        mean_neighbour_chars:
          neighbours.reduce((s, n) => s + n.text.length, 0) / Math.max(1, neighbours.length),
      });
    } finally {
      await ttt.dispose();
    }
  }
  return results;
}
