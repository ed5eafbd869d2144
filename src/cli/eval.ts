import { ArtifactStore } from '../core/artifacts.ts';
import { UsageError } from '../core/errors.ts';
import { finemedHome } from '../core/home.ts';
import { terminalProgress } from '../core/progress.ts';
import { loadBenchmark, type LoadOptions } from '../eval/loaders/load.ts';
import { endpointModel, remoteNote } from '../eval/endpoint.ts';
import { loadEvalModel } from '../eval/model-adapter.ts';
import { formatSummary } from '../eval/report.ts';
import { writeEvalResult } from '../eval/results.ts';
import { DEFAULT_HARNESS, HARNESSES } from '../eval/harness.ts';
import { runEval } from '../eval/run.ts';
import { BENCHMARK_FORMATS } from '../eval/types.ts';
import { boolFlag, choiceFlag, intFlag, requiredFlag, stringFlag } from './command.ts';
import type { Command, CommandContext } from './command.ts';
import { jsonFlag, switchFlag, valueFlag } from './flags.ts';
import { fileFlags, printSkipped, rowFlags, rowOptions } from './row-flags.ts';

/** `finemed eval`: scores a model on a benchmark file and stores the result. */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'Evaluate a model on a medical benchmark file (accuracy with 95% CI)',
  details: [
    'Formats: medqa (JSONL, answer_idx), medmcqa (JSON/JSONL, opa..opd, cop), pubmedqa (PQA-L JSON',
    'keyed by PMID), mmlu (headerless CSV), mmlupro (JSON/JSONL, 3-10 options); detected from the',
    'file when --format is omitted. loglik mode scores each option after the prompt (acc and',
    'acc_norm, as lm-evaluation-harness); generate mode asks through the chat template and reads',
    '"The answer is (X)" and its variants off the reply. The result (summary and one record per',
    'item) is stored as an eval artifact and reused when the same evaluation is asked again.',
    '--harness lm-eval (the default) reproduces lm-evaluation-harness: its prompts, BOS rule,',
    'few-shot examples from --shots-file in file order (MMLU: the dev file; MMLU-Pro: the',
    'validation split, 5-shot chain of thought, exact_match), acc, acc_norm (per character) and',
    'acc_bytes; the result says whether it is comparable with published lm-eval numbers.',
    '--harness workbench keeps the earlier options (--mode, --cot, --choices, random shots).',
  ].join('\n'),
  flags: {
    model: valueFlag('DIR', 'Model folder (config, weights, tokenizer)'),
    endpoint: valueFlag(
      'URL',
      'Score a served model instead of --model: an OpenAI-compatible base URL (vLLM, llama.cpp, serve-model)',
    ),
    'served-model': valueFlag('NAME', 'endpoint: the model name the server serves'),
    'api-key': valueFlag('KEY', 'endpoint: API key (default: OPENAI_API_KEY; never stored)'),
    concurrency: valueFlag(
      'N',
      'endpoint: requests in flight (and at least this many items per call)',
      '4',
    ),
    'token-budget': valueFlag('N', 'endpoint: stop with an error past N prompt+completion tokens'),
    bench: valueFlag('FILE', 'Benchmark file'),
    format: valueFlag(BENCHMARK_FORMATS.join('|'), 'Benchmark format'),
    harness: valueFlag(HARNESSES.join('|'), 'Prompt and scoring profile', DEFAULT_HARNESS),
    mode: valueFlag(
      'loglik|generate',
      'workbench: scoring mode (default loglik; lm-eval decides per task)',
    ),
    limit: valueFlag('N', 'Score only the first N items'),
    shots: valueFlag('K', 'Few-shot examples per item (default 0; lm-eval mmlupro 5)'),
    'shots-file': valueFlag('FILE', 'The few-shot split (train/dev/validation; same format)'),
    seed: valueFlag('N', 'Seed of shot draws and bootstrap', '0'),
    cot: switchFlag('generate: ask for step-by-step reasoning'),
    'max-tokens': valueFlag('N', 'generate: reply budget (32, or 1024 with --cot)'),
    system: valueFlag('TEXT', 'generate: a system message'),
    choices: valueFlag('letter|text', 'loglik: score letters or option texts'),
    'cop-base': valueFlag('0|1', 'medmcqa: cop counts from 0 or 1 (default: from the file)'),
    truth: valueFlag('FILE', 'pubmedqa: ground-truth {pmid: label} file'),
    ...rowFlags,
    ...fileFlags,
    batch: valueFlag('N', 'Items per model call', '1'),
    resamples: valueFlag('N', 'Bootstrap resamples', '2000'),
    out: valueFlag('DIR', 'Also write summary.json and items.jsonl here'),
    json: jsonFlag,
  },
  async run(ctx) {
    const modelDir = stringFlag(ctx, 'model');
    const endpoint = stringFlag(ctx, 'endpoint');
    if ((modelDir === undefined) === (endpoint === undefined))
      throw new UsageError('give exactly one of --model DIR and --endpoint URL');
    const benchFile = requiredFlag(ctx, 'bench');
    const copBase = choiceFlag(ctx, 'cop-base', ['0', '1'] as const);
    const load: LoadOptions = {
      ...rowOptions(ctx),
      copBase: copBase === undefined ? 'auto' : copBase === '0' ? 0 : 1,
      truthFile: stringFlag(ctx, 'truth'),
    };
    const format = choiceFlag(ctx, 'format', BENCHMARK_FORMATS);
    const shotsFile = stringFlag(ctx, 'shots-file');
    const harness = choiceFlag(ctx, 'harness', HARNESSES) ?? DEFAULT_HARNESS;
    const workbench = harness === 'workbench';
    const opts = {
      harness,
      mode:
        choiceFlag(ctx, 'mode', ['loglik', 'generate'] as const) ??
        (workbench ? 'loglik' : undefined),
      limit: intFlag(ctx, 'limit', { min: 1 }),
      shots: intFlag(ctx, 'shots', { min: 0, max: 64 }) ?? (workbench ? 0 : undefined),
      seed: intFlag(ctx, 'seed') ?? 0,
      chainOfThought: boolFlag(ctx, 'cot'),
      maxTokens: intFlag(ctx, 'max-tokens', { min: 1 }),
      system: stringFlag(ctx, 'system'),
      choiceStyle: choiceFlag(ctx, 'choices', ['letter', 'text'] as const),
      batchSize: intFlag(ctx, 'batch', { min: 1, max: 256 }) ?? 1,
      resamples: intFlag(ctx, 'resamples', { min: 100 }) ?? 2000,
      signal: ctx.signal,
    };
    const bench = await loadBenchmark(benchFile, format, load);
    printSkipped(ctx, bench.skipped);
    const shots = shotsFile
      ? await loadBenchmark(shotsFile, bench.format, { ...load, truthFile: undefined })
      : undefined;
    if (shots) printSkipped(ctx, shots.skipped);
    const shotPool = shots?.items;
    const model = endpoint
      ? servedEvalModel(ctx, endpoint)
      : await loadEvalModel(modelDir!, {}, harness);
    // What is in flight at once comes from one call's items: a served model gets enough of them.
    if (endpoint) opts.batchSize = Math.max(opts.batchSize, intFlag(ctx, 'concurrency') ?? 4);
    const progress = terminalProgress(ctx.stderr);
    try {
      const stored = await runEval(
        new ArtifactStore(finemedHome()),
        bench,
        model,
        { ...opts, shotPool, onProgress: progress },
        { load, shotsFile },
      );
      progress.done();
      const out = stringFlag(ctx, 'out');
      if (out) await writeEvalResult(out, stored.result);
      const { summary } = stored.result;
      if (boolFlag(ctx, 'json')) {
        ctx.stdout.write(
          JSON.stringify({
            ...summary,
            artifact: stored.key,
            dir: stored.dir,
            reused: stored.reused,
            ...('remote' in model ? { remote: model.remote } : {}),
          }) + '\n',
        );
      } else {
        ctx.stdout.write(
          formatSummary(summary) + `result: ${stored.dir}${stored.reused ? ' (reused)' : ''}\n`,
        );
      }
      if ('remote' in model) ctx.stderr.write(`remote model: ${model.remote.note}\n`);
    } finally {
      progress.done();
      await model.dispose();
    }
  },
};

/**
 * A served model from the endpoint flags: the key comes from --api-key or OPENAI_API_KEY, as
 * OpenAI clients take it, and goes only into request headers.
 */
function servedEvalModel(ctx: CommandContext, url: string) {
  const servedModel = stringFlag(ctx, 'served-model');
  if (!servedModel) throw new UsageError('--endpoint needs --served-model NAME');
  const model = endpointModel({
    url,
    servedModel,
    apiKey: stringFlag(ctx, 'api-key') ?? process.env.OPENAI_API_KEY,
    concurrency: intFlag(ctx, 'concurrency', { min: 1, max: 256 }) ?? 4,
    tokenBudget: intFlag(ctx, 'token-budget', { min: 1 }),
  });
  return { ...model, remote: remoteNote(model), dispose: async () => undefined };
}
