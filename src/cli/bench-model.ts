import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../core/errors.ts';
import { projectRoot } from '../core/version.ts';
import {
  MODEL_PHASES,
  runModelPhase,
  type ModelPhase,
  type PhaseResult,
} from './bench-model-phases.ts';
import {
  baselineProblem,
  expectedOpenblasCore,
  load1,
  runJson,
  SYSTEM_PYTHON,
  torchAvailable,
  torchEnv,
  type TorchRound,
} from './bench-train.ts';
import { boolFlag, intFlag, requiredFlag, stringFlag } from './command.ts';
import type { Command } from './command.ts';
import { bothSidesThreadsFlag, noTorchFlag, switchFlag, valueFlag } from './flags.ts';

/** The figures both sides report, and whether larger is better. */
const FIGURES = {
  load_seconds: 'lower',
  score_ms_512: 'lower',
  options_ms_512x4: 'lower',
  lora_train_tokens_per_s: 'higher',
  ttt_lora_seconds_per_question: 'lower',
} as const;

type Figure = keyof typeof FIGURES;

/** What scripts/bench/torch_model.py prints. */
type TorchModelRound = Pick<TorchRound, 'torch' | 'threads' | 'blas'> &
  Record<Figure | 'peak_rss_mb' | 'parameters', number>;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** One engine phase in a fresh process, so its peak RSS is its own. */
function enginePhase(
  dir: string,
  phase: ModelPhase,
  o: { threads: number; repeats: number },
  signal?: AbortSignal,
): Promise<PhaseResult> {
  const args = [join(projectRoot, 'bin', 'finemed.js'), 'bench', 'model', '--model', dir];
  args.push('--phase', phase, '--threads', String(o.threads), '--repeats', String(o.repeats));
  return runJson<PhaseResult>(process.execPath, args, process.env, signal);
}

function torchModelRound(
  dir: string,
  o: { threads: number; repeats: number; phases: readonly ModelPhase[] },
  signal?: AbortSignal,
): Promise<TorchModelRound> {
  const script = join(projectRoot, 'scripts', 'bench', 'torch_model.py');
  const args = [script, '--model', dir, '--threads', String(o.threads)];
  args.push('--repeats', String(o.repeats), '--phases', o.phases.join(','));
  return runJson<TorchModelRound>(SYSTEM_PYTHON, args, torchEnv(o.threads), signal);
}

/** `finemed bench model`: load, scoring, LoRA training and TTT speed of a model folder, against PyTorch. */
export const benchModelCommand: Command = {
  name: 'bench model',
  summary: 'Measure a model folder: load, scoring, options, LoRA training and TTT, vs PyTorch',
  details: [
    'Each phase runs in a process of its own (its peak RSS is its own; peak_rss_mb is the largest):',
    '  load_seconds                   config, weights and tokenizer into memory',
    '  score_ms_512                   log-probability of one token after a 511-token prompt',
    '  options_ms_512x4               four one-token options after one 511-token prompt (sequenceLogprobs)',
    '  lora_train_tokens_per_s        LoRA r=16 on q,k,v,o,gate,up,down, batch 2 x 256, loss on every',
    '                                 position, AdamW on the adapters (the loss graph SFT trains with)',
    '  ttt_lora_seconds_per_question  TTT k=1, one step, r=16: a ~300-token question and neighbour,',
    '                                 four options scored after adapting, weights restored',
    'Timed figures are medians of --repeats runs after one untimed warm-up, then the median over',
    '--rounds. Where /usr/bin/python3 can import torch, scripts/bench/torch_model.py (a plain',
    'Llama/Qwen2 on the same folder, float32) runs the same phases after each round of ours, with',
    "bench train's BLAS checks; a mis-configured baseline gets baseline_problem and no ratios.",
    'ratio_vs_torch > 1 means faster here; options_vs_torch_score compares four options here with',
    "PyTorch's one forward pass (score_ms_512). The model needs a tokenizer (TTT encodes text).",
  ].join('\n'),
  flags: {
    model: valueFlag('DIR', 'Hugging Face model folder'),
    threads: bothSidesThreadsFlag,
    repeats: valueFlag('N', 'Timed runs per phase', '2'),
    rounds: valueFlag('N', 'Rounds (ours, then PyTorch)', '1'),
    'no-torch': noTorchFlag,
    phases: valueFlag('LIST', 'Phases to run, comma-separated', MODEL_PHASES.join(',')),
    phase: valueFlag(MODEL_PHASES.join('|'), 'Internal: one phase'),
    json: switchFlag('Print one JSON object'),
  },
  async run(ctx) {
    const dir = requiredFlag(ctx, 'model');
    const threads = intFlag(ctx, 'threads', { min: 1, max: 256 }) ?? availableParallelism();
    const repeats = intFlag(ctx, 'repeats', { min: 1, max: 100 }) ?? 2;
    const rounds = intFlag(ctx, 'rounds', { min: 1, max: 20 }) ?? 1;
    const o = { threads, repeats, phases: phasesFlag(stringFlag(ctx, 'phases')) };
    const only = stringFlag(ctx, 'phase');
    if (only !== undefined) {
      const phase = MODEL_PHASES.find((p) => p === only);
      if (!phase) throw new UsageError(`--phase must be ${MODEL_PHASES.join('|')}, got '${only}'`);
      ctx.stdout.write(JSON.stringify(await runModelPhase(dir, phase, o)) + '\n');
      return;
    }
    const withTorch = !boolFlag(ctx, 'no-torch') && torchAvailable();
    if (!withTorch && !boolFlag(ctx, 'no-torch'))
      ctx.stderr.write('PyTorch baseline unavailable: /usr/bin/python3 cannot import torch\n');
    const loadBefore = load1();
    const ours: PhaseResult[][] = [];
    const theirs: TorchModelRound[] = [];
    for (let r = 0; r < rounds; r++) {
      const results: PhaseResult[] = [];
      for (const phase of o.phases) {
        const result = await enginePhase(dir, phase, o, ctx.signal);
        ctx.stderr.write(
          `round ${r + 1}/${rounds} ${result.key}: ${round(result.value)} (peak RSS ${result.peakRssMb} MB, ${round(result.cpuPerWall, 2)} CPU s per s)\n`,
        );
        results.push(result);
      }
      ours.push(results);
      if (withTorch) {
        const t = await torchModelRound(dir, o, ctx.signal);
        ctx.stderr.write(
          `round ${r + 1}/${rounds} torch: ${(Object.keys(FIGURES) as Figure[])
            .filter((k) => k in t)
            .map((k) => `${k} ${round(t[k])}`)
            .join(', ')}\n`,
        );
        theirs.push(t);
      }
    }
    const report = summarize(dir, ours, theirs, { threads, repeats, loadBefore });
    if (boolFlag(ctx, 'json')) {
      ctx.stdout.write(JSON.stringify(report) + '\n');
      return;
    }
    for (const [key, value] of Object.entries(report))
      ctx.stdout.write(
        `${key.padEnd(30)} ${typeof value === 'object' ? JSON.stringify(value) : value}\n`,
      );
  },
};

/** The phases `--phases` names (all when absent), in the order they run. */
export function phasesFlag(value: string | undefined): ModelPhase[] {
  if (value === undefined) return [...MODEL_PHASES];
  const asked = value.split(',').map((p) => p.trim());
  const unknown = asked.filter((p) => !(MODEL_PHASES as readonly string[]).includes(p));
  if (unknown.length > 0 || asked.length === 0)
    throw new UsageError(`--phases takes some of ${MODEL_PHASES.join(',')}, got '${value}'`);
  return MODEL_PHASES.filter((p) => asked.includes(p));
}

/**
 * The report: our medians, PyTorch's, and the ratios when the baseline is sound, for the
 * figures of the phases that ran.
 */
export function summarize(
  dir: string,
  ours: PhaseResult[][],
  theirs: TorchModelRound[],
  env: { threads: number; repeats: number; loadBefore: number },
): Record<string, unknown> {
  const all = ours.flat();
  const figures = (Object.keys(FIGURES) as Figure[]).filter((k) => all.some((r) => r.key === k));
  const ran = MODEL_PHASES.filter((p) => all.some((r) => r.phase === p));
  const figure = (key: Figure) => median(all.filter((r) => r.key === key).map((r) => r.value));
  const perPhase = Object.fromEntries(
    ran.map((p) => [p, Math.max(...all.filter((r) => r.phase === p).map((r) => r.peakRssMb))]),
  );
  const report: Record<string, unknown> = {
    model: dir,
    parameters: all[0]?.parameters ?? null,
    threads: env.threads,
    rounds: ours.length,
    repeats: env.repeats,
  };
  for (const key of figures) report[key] = round(figure(key));
  report.peak_rss_mb = Math.max(...Object.values(perPhase));
  report.peak_rss_mb_by_phase = perPhase;
  // Contention shows here: with N threads an undisturbed phase keeps about N cores busy.
  report.cpu_per_wall_by_phase = Object.fromEntries(
    ran.map((p) => [
      p,
      round(Math.min(...all.filter((r) => r.phase === p).map((r) => r.cpuPerWall)), 2),
    ]),
  );
  report.torch = null;
  report.ratio_vs_torch = null;
  report.options_vs_torch_score = null;
  if (theirs.length > 0) {
    const t = (key: Figure | 'peak_rss_mb') => median(theirs.map((r) => r[key]));
    const torch: Record<string, unknown> = { version: theirs[0].torch };
    for (const key of figures) torch[key] = round(t(key));
    torch.peak_rss_mb = Math.round(Math.max(...theirs.map((r) => r.peak_rss_mb)));
    torch.blas = { ...theirs[0].blas, expected_core: expectedOpenblasCore() };
    report.torch = torch;
    const problem = theirs.map((r) => baselineProblem(r, env.threads)).find(Boolean);
    if (problem) {
      report.baseline_problem = problem;
    } else {
      report.ratio_vs_torch = Object.fromEntries(
        figures.map((key) => [
          key,
          round(FIGURES[key] === 'lower' ? t(key) / figure(key) : figure(key) / t(key)),
        ]),
      );
      if (figures.includes('options_ms_512x4') && theirs.every((r) => 'score_ms_512' in r))
        report.options_vs_torch_score = round(t('score_ms_512') / figure('options_ms_512x4'));
    }
  }
  report.load_average = { before: env.loadBefore, after: load1() };
  return report;
}
