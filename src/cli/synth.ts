import { resolve } from 'node:path';
import { terminalProgress } from '../core/progress.ts';
import { UsageError } from '../core/errors.ts';
import { writeSynthesis } from '../data/export.ts';
import type { ClientStats } from '../data/llm/client.ts';
import { NOT_FOR_CLINICAL_USE } from '../data/notice.ts';
import type { SynthesisOptions } from '../data/presets.ts';
import { ContaminationError, synthesize, type SynthesisResult } from '../data/synthesize.ts';
import { boolFlag, choiceFlag, intFlag, numberFlag, requiredFlag, stringFlag } from './command.ts';
import type { Command, CommandContext } from './command.ts';
import { switchFlag, valueFlag } from './flags.ts';
import { fileFlags, printSkipped, rowFlags, rowOptions } from './row-flags.ts';

function secondsToMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : seconds * 1000;
}

function options(ctx: CommandContext): SynthesisOptions {
  const baseUrl = stringFlag(ctx, 'llm-base-url');
  const model = stringFlag(ctx, 'llm-model');
  if ((baseUrl === undefined) !== (model === undefined)) {
    throw new UsageError('--llm-base-url and --llm-model go together');
  }
  const llmOnly = [
    'concurrency',
    'max-requests',
    'llm-cache',
    'llm-timeout',
    'price-in',
    'price-out',
  ];
  const stray = llmOnly.filter((f) => ctx.flags[f] !== undefined);
  if (!baseUrl && stray.length)
    throw new UsageError(`--${stray[0]} needs --llm-base-url and --llm-model`);
  const corpus = stringFlag(ctx, 'corpus');
  const rows = rowOptions(ctx);
  const corpusFlags = stringFlag(ctx, 'corpus-field') || boolFlag(ctx, 'corpus-only');
  if (!corpus && (corpusFlags || rows.skipBadRows || rows.maxRowBytes || rows.maxFileBytes)) {
    throw new UsageError(
      '--corpus-field, --corpus-only, --skip-bad-rows, --max-row-bytes and --max-file-bytes need --corpus',
    );
  }
  return {
    preset: choiceFlag(ctx, 'preset', ['tiny', 'demo'] as const) ?? 'demo',
    seed: intFlag(ctx, 'seed'),
    conditions: intFlag(ctx, 'conditions', { min: 4 }),
    passages: intFlag(ctx, 'passages', { min: 1 }),
    evalItems: intFlag(ctx, 'eval-items', { min: 1 }),
    rarity: numberFlag(ctx, 'rarity', { min: 0, max: 4 }),
    anchorFraction: numberFlag(ctx, 'anchor-fraction', { min: 0, max: 1 }),
    leakThreshold: numberFlag(ctx, 'leak-threshold', { min: 0.01, max: 1 }),
    department: stringFlag(ctx, 'department'),
    subdepartment: stringFlag(ctx, 'subdepartment'),
    ...(corpus
      ? {
          corpus: {
            path: resolve(corpus),
            field: stringFlag(ctx, 'corpus-field'),
            limit: intFlag(ctx, 'corpus-limit', { min: 1 }),
            only: boolFlag(ctx, 'corpus-only'),
            ...rows,
          },
        }
      : {}),
    ...(baseUrl && model
      ? {
          llm: {
            baseUrl,
            model,
            concurrency: intFlag(ctx, 'concurrency', { min: 1, max: 256 }),
            maxRequests: intFlag(ctx, 'max-requests', { min: 0 }),
            cacheDir: stringFlag(ctx, 'llm-cache'),
            timeoutMs: secondsToMs(numberFlag(ctx, 'llm-timeout', { min: 0.1 })),
            prices: {
              input: numberFlag(ctx, 'price-in', { min: 0 }) ?? 0,
              output: numberFlag(ctx, 'price-out', { min: 0 }) ?? 0,
            },
          },
        }
      : {}),
  };
}

/** What the LLM cost this run (cache hits are free), when the run used one. */
function llmLine(backend: unknown): string[] {
  const s = backend as Partial<ClientStats & { cost: number }> | undefined;
  if (s?.promptTokens === undefined) return [];
  const n = (x: number | undefined): string => (x ?? 0).toLocaleString('en-US');
  const cost = s.cost ? `, $${s.cost.toFixed(4)}` : '';
  return [
    `  LLM: ${n(s.successes)} requests (${n(s.cacheHits)} cached), ${n(s.promptTokens)} prompt + ${n(s.completionTokens)} completion tokens${cost}`,
  ];
}

function summary(result: SynthesisResult, dir: string, files: string[]): string {
  const r = result.report;
  const row = (k: string, v: string | number): string =>
    `  ${k.padEnd(34)} ${String(v).padStart(8)}`;
  const c = r.contamination;
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  return [
    `FineMed synthesis: ${r.generator}, preset ${r.knobs.preset}, seed ${r.knobs.seed}`,
    NOT_FOR_CLINICAL_USE,
    '',
    ...Object.entries(r.counts).map(([k, v]) => row(k, v)),
    '',
    '  SFT rows by department:',
    ...Object.entries(r.departments.primary)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => row(`    ${k}`, v)),
    row(
      '  label agreement with the KB',
      r.labelAgreement.checked ? pct(r.labelAgreement.primary / r.labelAgreement.checked) : 'n/a',
    ),
    row('  DPO rejected: anchored / direct', `${r.dpo.anchored ?? 0} / ${r.dpo.direct ?? 0}`),
    '',
    `  contamination (${c.n}-grams): max overlap ${pct(c.maxRatio)}, mean ${pct(c.meanRatio)}, longest shared run ${c.maxLongest} words; ${c.leaks.length} leak(s) at threshold ${pct(c.threshold)}`,
    ...llmLine(r.backend),
    `  wrote ${files.length} files to ${dir}`,
    '',
  ].join('\n');
}

/** `finemed synth`: the FineMedLM-o1 data pipeline, offline or LLM-backed. */
export const synthCommand: Command = {
  name: 'synth',
  summary: 'Synthesize pretraining, SFT, DPO and held-out MCQ data (offline or via an LLM)',
  details:
    'Writes pretrain.jsonl, sft_common.jsonl, sft_complex.jsonl, sft_department.jsonl, sft_subdepartment.jsonl, dpo.jsonl, eval_mcq.jsonl (MedQA format), eval_mcq_paraphrased.jsonl (the same questions in evaluation-only words), departments.json and synthesis_report.json. Exits 1 if an evaluation item leaks into training. The LLM API key comes from $FINEMED_LLM_API_KEY or $OPENAI_API_KEY.',
  flags: {
    out: valueFlag('DIR', 'Output folder (required)'),
    preset: valueFlag('tiny|demo', 'Base sizes', 'demo'),
    seed: valueFlag('N', 'Seed of every random draw'),
    conditions: valueFlag('N', 'Knowledge-base conditions in the world'),
    passages: valueFlag('N', 'Textbook passages to write'),
    'eval-items': valueFlag('N', 'Held-out MCQ questions'),
    rarity: valueFlag('X', 'Zipf exponent of condition frequency (0 = uniform)'),
    'anchor-fraction': valueFlag('X', 'Share of DPO pairs rejecting an anchored look-alike answer'),
    'leak-threshold': valueFlag('X', '13-gram overlap share that counts as a leak'),
    department: valueFlag('ID', 'Department of sft_department.jsonl (default: largest)'),
    subdepartment: valueFlag('ID', 'Sub-department of sft_subdepartment.jsonl'),
    corpus: valueFlag('FILE|DIR', 'A JSONL corpus or a folder of .txt files as raw text'),
    'corpus-field': valueFlag('NAME', 'JSONL text field (default text, else answer)'),
    'corpus-limit': valueFlag('N', 'Read at most N corpus documents'),
    'corpus-only': switchFlag('Synthesize instructions from the corpus only'),
    ...rowFlags,
    ...fileFlags,
    'llm-base-url': valueFlag('URL', 'OpenAI-compatible endpoint, e.g. http://localhost:8000/v1'),
    'llm-model': valueFlag('NAME', 'Model name for the endpoint'),
    concurrency: valueFlag(
      'N',
      'LLM requests in flight at once (default 4; the files do not depend on it)',
    ),
    'max-requests': valueFlag(
      'N',
      'LLM request budget (cache hits are free: a rerun resumes where it stopped)',
    ),
    'llm-cache': valueFlag('DIR', 'Response cache folder (default $FINEMED_HOME/llm-cache)'),
    'llm-timeout': valueFlag('SECONDS', 'Per-request timeout (default 120)'),
    'price-in': valueFlag('USD', 'Price per 1M prompt tokens, for the cost in progress and report'),
    'price-out': valueFlag(
      'USD',
      'Price per 1M completion tokens (both default 0: cost not shown)',
    ),
    format: valueFlag('LIST', 'Also write parquet and/or arrow copies, e.g. parquet,arrow'),
    json: switchFlag('Print one JSON summary object on the last line'),
  },
  async run(ctx) {
    const out = resolve(requiredFlag(ctx, 'out'));
    const formats = (stringFlag(ctx, 'format') ?? '').split(',').filter(Boolean);
    const bad = formats.filter((f) => f !== 'parquet' && f !== 'arrow');
    if (bad.length)
      throw new UsageError(`--format accepts parquet and arrow, got '${bad.join(',')}'`);
    const progress = terminalProgress(ctx.stderr);
    let result: SynthesisResult;
    let leak: ContaminationError | undefined;
    try {
      result = await synthesize(options(ctx), {
        signal: ctx.signal,
        onProgress: progress,
        onSkipped: (rows) => printSkipped(ctx, rows),
      });
    } catch (error) {
      if (!(error instanceof ContaminationError)) throw error;
      leak = error;
      result = error.result;
    } finally {
      progress.done();
    }
    const files = await writeSynthesis(result, out, {
      parquet: formats.includes('parquet'),
      arrow: formats.includes('arrow'),
    });
    ctx.stdout.write(summary(result, out, files));
    if (boolFlag(ctx, 'json')) {
      const { counts, contamination, generator, files: rows } = result.report;
      ctx.stdout.write(
        JSON.stringify({
          out,
          generator,
          counts,
          rows,
          contamination: { ...contamination, leaks: contamination.leaks.length },
        }) + '\n',
      );
    }
    if (leak) {
      ctx.stderr.write(`finemed: ${leak.message}\n`);
      return 1;
    }
  },
};
