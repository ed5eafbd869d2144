import { join } from 'node:path';
import { terminalProgress } from '../core/progress.ts';
import { sharedDataDir } from '../core/shared-data.ts';
import { projectRoot } from '../core/version.ts';
import { benchEval, EVAL_BENCH_MODES } from '../eval/bench.ts';
import { loadBenchmark } from '../eval/loaders/load.ts';
import { loadEvalModel, modelGenerator, modelScorer } from '../eval/model-adapter.ts';
import { BENCHMARK_FORMATS } from '../eval/types.ts';
import { createModel, MODEL_PRESETS } from '../model/init.ts';
import { boolFlag, choiceFlag, intFlag, stringFlag } from './command.ts';
import type { Command } from './command.ts';
import { jsonFlag, valueFlag } from './flags.ts';
import { benchModelFlags } from './model-flags.ts';

/** The benchmark timed by default: the shared MedQA sample when present, else our fixture. */
function defaultBenchmarkFile(): string {
  const shared = sharedDataDir();
  return shared
    ? join(shared, 'benchmarks', 'medqa', 'us4_sample.jsonl')
    : join(projectRoot, 'src', 'eval', 'fixtures', 'medqa.jsonl');
}

/** `finemed bench eval`: evaluation throughput in both scoring modes. */
export const benchEvalCommand: Command = {
  name: 'bench eval',
  summary: 'Measure evaluation speed (questions/s) in loglik and generate modes',
  details: [
    'Without --model, times a randomly initialised model of --preset (default demo) whose',
    'tokenizer is trained on the benchmark questions: speed does not depend on the weights,',
    'but an untrained model rarely stops early, so generate mode runs every reply to',
    '--max-tokens (the worst case).',
  ].join('\n'),
  flags: {
    ...benchModelFlags,
    bench: valueFlag('FILE', 'Benchmark file (default: MedQA sample)'),
    format: valueFlag(BENCHMARK_FORMATS.join('|'), 'Benchmark format'),
    items: valueFlag('N', 'Items timed per mode', '20'),
    'max-tokens': valueFlag('N', 'Reply budget in generate mode', '32'),
    batch: valueFlag('N', 'Items per model call', '1'),
    mode: valueFlag('loglik|generate', 'Time one mode only (default: both)'),
    json: jsonFlag,
  },
  async run(ctx) {
    const benchFile = stringFlag(ctx, 'bench') ?? defaultBenchmarkFile();
    const benchmark = await loadBenchmark(benchFile, choiceFlag(ctx, 'format', BENCHMARK_FORMATS));
    const preset = choiceFlag(ctx, 'preset', MODEL_PRESETS) ?? 'demo';
    const modelDir = stringFlag(ctx, 'model');
    const model = modelDir
      ? await loadEvalModel(modelDir)
      : (() => {
          const lm = createModel({
            preset,
            texts: benchmark.items.map((i) => [i.question, ...i.options].join('\n')),
          });
          return {
            key: `preset:${preset}`,
            scorer: modelScorer(lm),
            generator: modelGenerator(lm),
            dispose: () => lm.dispose(),
          };
        })();
    const progress = terminalProgress(ctx.stderr);
    try {
      const result = await benchEval(model, benchmark, {
        items: intFlag(ctx, 'items', { min: 1 }) ?? 20,
        maxTokens: intFlag(ctx, 'max-tokens', { min: 1 }) ?? 32,
        batchSize: intFlag(ctx, 'batch', { min: 1, max: 256 }) ?? 1,
        modes: [choiceFlag(ctx, 'mode', EVAL_BENCH_MODES) ?? EVAL_BENCH_MODES].flat(),
        onProgress: progress,
        signal: ctx.signal,
      });
      progress.done();
      const report = {
        bench: benchFile,
        format: benchmark.format,
        model: modelDir ?? `preset:${preset} (random weights)`,
        ...result,
      };
      if (boolFlag(ctx, 'json')) {
        ctx.stdout.write(JSON.stringify(report) + '\n');
      } else {
        ctx.stdout.write(
          [
            `${report.model} on ${benchmark.format} (${benchFile})`,
            `warm-up ${result.warmup_s.toFixed(2)} s`,
            ...(result.loglik
              ? [
                  `loglik    ${result.loglik.items_per_s.toFixed(2)} questions/s (${result.loglik.items} in ${result.loglik.seconds.toFixed(2)} s)`,
                ]
              : []),
            ...(result.generate
              ? [
                  `generate  ${result.generate.items_per_s.toFixed(2)} questions/s (${result.generate.items} in ${result.generate.seconds.toFixed(2)} s, up to ${result.generate.max_tokens} tokens)`,
                ]
              : []),
          ].join('\n') + '\n',
        );
      }
    } finally {
      progress.done();
      await model.dispose();
    }
  },
};
