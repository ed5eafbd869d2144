import { availableParallelism } from 'node:os';
import { UsageError } from '../core/errors.ts';
import {
  benchParamCount,
  measureMatmulPeak,
  median,
  runTrainBench,
  TRAIN_BENCH_CONFIGS,
  trainStepFlops,
  type TrainBenchConfig,
} from '../engine/bench-train.ts';
import {
  baselineProblem,
  engineRound,
  expectedOpenblasCore,
  load1,
  torchAvailable,
  torchRound,
  type EngineRound,
  type TorchRound,
} from './bench-train.ts';
import { boolFlag, intFlag, stringFlag } from './command.ts';
import type { Command, CommandContext } from './command.ts';
import { bothSidesThreadsFlag, noTorchFlag, switchFlag, valueFlag } from './flags.ts';

const round1 = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

function configsFrom(ctx: CommandContext): TrainBenchConfig[] {
  const name = stringFlag(ctx, 'config') ?? 'all';
  if (name === 'all') return [...TRAIN_BENCH_CONFIGS];
  const c = TRAIN_BENCH_CONFIGS.find((x) => x.name === name);
  if (!c)
    throw new UsageError(
      `--config must be all|${TRAIN_BENCH_CONFIGS.map((x) => x.name).join('|')}, got '${name}'`,
    );
  return [c];
}

/** `finemed bench train`: tokens/s of a full training step, against PyTorch when available. */
export const benchTrainCommand: Command = {
  name: 'bench train',
  summary: 'Measure training speed (tokens/s, utilisation) of the engine, and against PyTorch',
  details: [
    "For each config (a GPT from the engine's layer kit: vocab 4096, seq 128, batch 16), times a",
    'full step (forward, backward, clip, AdamW) in fresh processes, alternating engine and',
    'PyTorch rounds, and prints medians: one JSON object per config with --json. The PyTorch',
    'baseline (scripts/bench/torch_train.py, same model, same threads) runs when',
    "/usr/bin/python3 can import torch; it must use OpenBLAS with the CPU's proper kernels",
    '(OPENBLAS_CORETYPE is set for it), otherwise no ratio is printed. Utilisation is model',
    'FLOPs per second over the fp32 matmul peak measured through ONNX Runtime (best over rounds).',
  ].join('\n'),
  flags: {
    config: valueFlag(
      `all|${TRAIN_BENCH_CONFIGS.map((c) => c.name).join('|')}`,
      'Which config',
      'all',
    ),
    rounds: valueFlag('N', 'Interleaved rounds (processes) per side', '3'),
    steps: valueFlag('N', 'Timed steps per round', '5'),
    warmup: valueFlag('N', 'Untimed steps per round', '2'),
    threads: bothSidesThreadsFlag,
    retries: valueFlag('N', 'Re-runs of a round pair another process slowed down', '3'),
    'no-torch': noTorchFlag,
    round: switchFlag('Internal: run one engine round in this process and print JSON'),
    json: switchFlag('Print one JSON object per config'),
  },
  async run(ctx) {
    const threads = intFlag(ctx, 'threads', { min: 1, max: 256 }) ?? availableParallelism();
    const steps = intFlag(ctx, 'steps', { min: 1, max: 1000 }) ?? 5;
    const warmup = intFlag(ctx, 'warmup', { min: 0, max: 1000 }) ?? 2;
    const rounds = intFlag(ctx, 'rounds', { min: 1, max: 100 }) ?? 3;
    const retries = intFlag(ctx, 'retries', { min: 0, max: 100 }) ?? 3;
    const configs = configsFrom(ctx);
    if (boolFlag(ctx, 'round')) {
      const matmulPeakGflops = await measureMatmulPeak(threads);
      const r = await runTrainBench(configs[0], { threads, steps, warmup, signal: ctx.signal });
      const peakRssMb = process.resourceUsage().maxRSS / 1024;
      const result: EngineRound = { ...r, peakRssMb, matmulPeakGflops };
      ctx.stdout.write(JSON.stringify(result) + '\n');
      return;
    }
    const withTorch = !boolFlag(ctx, 'no-torch') && torchAvailable();
    if (!withTorch)
      ctx.stderr.write(
        boolFlag(ctx, 'no-torch')
          ? 'PyTorch baseline skipped\n'
          : 'PyTorch baseline unavailable: /usr/bin/python3 cannot import torch\n',
      );
    const loadBefore = load1();
    ctx.stderr.write(`load average ${loadBefore}\n`);
    for (const c of configs) {
      const ours: EngineRound[] = [];
      const theirs: TorchRound[] = [];
      let contended = 0;
      const o = { threads, steps, warmup };
      for (let r = 0; r < rounds; r++) {
        const pair = await cleanPair(
          () => engineRound(c, o, ctx.signal),
          withTorch ? () => torchRound(c, o, ctx.signal) : undefined,
          threads,
          retries,
        );
        contended += pair.contended;
        ours.push(pair.ours);
        if (pair.theirs) theirs.push(pair.theirs);
        const t = pair.theirs ? `, torch ${Math.round(pair.theirs.tokensPerSec)} tok/s` : '';
        const note = pair.contended ? ` (${pair.contended} contended attempt(s) discarded)` : '';
        ctx.stderr.write(
          `${c.name} round ${r + 1}/${rounds}: engine ${Math.round(pair.ours.tokensPerSec)} tok/s${t}${note}\n`,
        );
      }
      const peak = Math.max(...ours.map((r) => r.matmulPeakGflops));
      const result = summarize(c, ours, theirs, { threads, peak, loadBefore, contended });
      ctx.stdout.write(
        boolFlag(ctx, 'json') ? JSON.stringify(result) + '\n' : formatSummary(result),
      );
    }
  },
};

/**
 * Whether another process took CPU from a round: a round with `threads` busy threads (ORT
 * and OpenMP spin while waiting) uses about `threads` CPU-seconds per second unless it was
 * descheduled.
 */
function contendedRound(r: { cpuMs: number; stepMs: number }, threads: number): boolean {
  return r.cpuMs / r.stepMs < 0.85 * threads;
}

/** Runs an engine round and a torch round, re-running the pair while either was contended. */
async function cleanPair(
  runOurs: () => Promise<EngineRound>,
  runTheirs: (() => Promise<TorchRound>) | undefined,
  threads: number,
  retries: number,
): Promise<{ ours: EngineRound; theirs?: TorchRound; contended: number }> {
  let contended = 0;
  while (true) {
    const ours = await runOurs();
    const theirs = runTheirs ? await runTheirs() : undefined;
    const bad = contendedRound(ours, threads) || (theirs && contendedRound(theirs, threads));
    if (!bad || contended >= retries) return { ours, theirs, contended };
    contended++;
  }
}

function summarize(
  c: TrainBenchConfig,
  ours: EngineRound[],
  theirs: TorchRound[],
  env: { threads: number; peak: number; loadBefore: number; contended: number },
): Record<string, unknown> {
  const tokensPerSec = median(ours.map((r) => r.tokensPerSec));
  const flops = trainStepFlops(c);
  const stepMs = median(ours.map((r) => r.stepMs));
  const result: Record<string, unknown> = {
    config: c.name,
    model: {
      vocab: c.vocab,
      d_model: c.dModel,
      layers: c.layers,
      heads: c.heads,
      seq: c.seq,
      batch: c.batch,
      params: benchParamCount(c),
    },
    threads: env.threads,
    rounds: ours.length,
    tokens_per_sec: round1(tokensPerSec),
    step_ms: round1(stepMs),
    forward_backward_ms: round1(median(ours.map((r) => r.forwardBackwardMs))),
    optimizer_ms: round1(median(ours.map((r) => r.optimizerMs))),
    cpu_ms_per_step: round1(median(ours.map((r) => r.cpuMs))),
    peak_rss_mb: round1(Math.max(...ours.map((r) => r.peakRssMb))),
    matmul_peak_gflops: round1(env.peak),
    step_gflop: round1(flops / 1e9),
    achieved_gflops: round1(flops / (stepMs / 1000) / 1e9),
    utilisation: round1(flops / (stepMs / 1000) / 1e9 / env.peak, 3),
    load_average: { before: env.loadBefore, after: load1() },
    contended_rounds_discarded: env.contended,
  };
  if (theirs.length > 0) {
    const problem = theirs.map((r) => baselineProblem(r, env.threads)).find(Boolean);
    const torchTps = median(theirs.map((r) => r.tokensPerSec));
    result.torch = {
      version: theirs[0].torch,
      tokens_per_sec: round1(torchTps),
      step_ms: round1(median(theirs.map((r) => r.stepMs))),
      forward_backward_ms: round1(median(theirs.map((r) => r.forwardBackwardMs))),
      optimizer_ms: round1(median(theirs.map((r) => r.optimizerMs))),
      cpu_ms_per_step: round1(median(theirs.map((r) => r.cpuMs))),
      peak_rss_mb: round1(Math.max(...theirs.map((r) => r.peakRssMb))),
      blas: { ...theirs[0].blas, expected_core: expectedOpenblasCore() },
    };
    if (problem) result.baseline_problem = problem;
    else result.ratio_vs_torch = round1(tokensPerSec / torchTps, 3);
  }
  return result;
}

function formatSummary(r: Record<string, unknown>): string {
  const torch = r.torch as { tokens_per_sec: number } | undefined;
  const lines = [
    `${r.config}: ${r.tokens_per_sec} tok/s, step ${r.step_ms} ms (forward+backward ${r.forward_backward_ms}, optimizer ${r.optimizer_ms}), peak RSS ${r.peak_rss_mb} MB`,
    `  utilisation ${r.utilisation} of ${r.matmul_peak_gflops} GFLOP/s (${r.achieved_gflops} achieved, ${r.step_gflop} GFLOP/step)`,
  ];
  if (torch)
    lines.push(
      `  torch ${torch.tokens_per_sec} tok/s: ${r.ratio_vs_torch !== undefined ? `ratio ${r.ratio_vs_torch}` : `no ratio: ${r.baseline_problem}`}`,
    );
  return lines.join('\n') + '\n';
}
