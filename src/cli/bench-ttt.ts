import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { UsageError } from '../core/errors.ts';
import { terminalProgress } from '../core/progress.ts';
import { sharedDataDir } from '../core/shared-data.ts';
import { projectRoot } from '../core/version.ts';
import { loadBenchmark } from '../eval/loaders/load.ts';
import { createModel } from '../model/init.ts';
import { benchTtt } from '../train/bench.ts';
import { readJsonlRecords } from '../train/examples.ts';
import { buildIndex, parseIndexRecord, type IndexDocument } from '../train/retrieve/index.ts';
import { boolFlag, intFlag, stringFlag } from './command.ts';
import type { Command } from './command.ts';
import { jsonFlag, threadsFlag, valueFlag } from './flags.ts';
import { benchModelFlags } from './model-flags.ts';
import { modelFrom } from './train-flags.ts';

/** The shared MedQA sample and MedlinePlus corpus when present, else our fixtures. */
function defaults(): { bench: string; corpus?: string } {
  const shared = sharedDataDir();
  const corpus = shared && join(shared, 'corpus', 'medlineplus_topics.jsonl');
  return shared && existsSync(corpus!)
    ? { bench: join(shared, 'benchmarks', 'medqa', 'us4_sample.jsonl'), corpus }
    : { bench: join(projectRoot, 'src', 'eval', 'fixtures', 'medqa.jsonl') };
}

/** Index documents: MedlinePlus question/answer rows, or the benchmark's own questions with their answers. */
async function documents(
  corpus: string | undefined,
  questions: { question: string; options: string[]; answerIndex: number }[],
): Promise<IndexDocument[]> {
  if (!corpus) {
    return questions.map((q, i) =>
      parseIndexRecord(
        { prompt: q.question, chosen: q.options[q.answerIndex] },
        { file: 'bench', line: i + 1 },
      ),
    );
  }
  const records = await readJsonlRecords(corpus);
  return records.map(({ value, source }) => {
    const r = value as { question: string; answer: string; qid?: string };
    return parseIndexRecord({ id: r.qid, prompt: r.question, chosen: r.answer }, source);
  });
}

/** `finemed bench ttt`: per-question test-time-training latency at k=1 and k=8. */
export const benchTttCommand: Command = {
  name: 'bench ttt',
  summary: 'Measure test-time training latency per question (retrieve, adapt, answer, restore)',
  details: [
    'Times TTT with one optimizer step per neighbour at each --k on a model of --preset (random',
    'weights, tokenizer trained on the texts; speed does not depend on the weights) or --model.',
    'Questions: the shared MedQA sample (else our fixture); neighbours: the shared MedlinePlus',
    'question/answer corpus indexed with BM25 (else the questions with their answers). Prints',
    'median milliseconds per phase; the target is under 1 s per question at k=1 on 2 cores.',
  ].join('\n'),
  flags: {
    ...benchModelFlags,
    bench: valueFlag('FILE', 'Questions (any format the evaluation layer reads)'),
    k: valueFlag('LIST', 'Comma-separated k values', '1,8'),
    items: valueFlag('N', 'Questions timed per k', '10'),
    warmup: valueFlag('N', 'Untimed questions first per k', '3'),
    threads: threadsFlag,
    json: jsonFlag,
  },
  async run(ctx) {
    const found = defaults();
    const benchFile = stringFlag(ctx, 'bench') ?? found.bench;
    const benchmark = await loadBenchmark(benchFile);
    const docs = await documents(
      stringFlag(ctx, 'bench') ? undefined : found.corpus,
      benchmark.items,
    );
    const threads = intFlag(ctx, 'threads', { min: 1, max: 256 }) ?? availableParallelism();
    const preset = stringFlag(ctx, 'preset') === 'tiny' ? 'tiny' : 'demo';
    const modelDir = stringFlag(ctx, 'model');
    const model = modelDir
      ? await modelFrom(ctx)
      : createModel({
          preset,
          texts: [
            ...docs.map((d) => d.text),
            ...benchmark.items.map((i) => [i.question, ...i.options].join('\n')),
          ],
        });
    const ks = (stringFlag(ctx, 'k') ?? '1,8').split(',').map((k) => Number(k));
    if (ks.some((k) => !Number.isInteger(k) || k < 1))
      throw new UsageError(`--k must list whole numbers >= 1, got '${stringFlag(ctx, 'k')}'`);
    const progress = terminalProgress(ctx.stderr);
    try {
      const index = await buildIndex(docs);
      const results = await benchTtt(model, benchmark, index, {
        ks,
        items: intFlag(ctx, 'items', { min: 1 }) ?? 10,
        warmup: intFlag(ctx, 'warmup', { min: 0 }) ?? 3,
        session: { threads },
        onProgress: progress,
        signal: ctx.signal,
      });
      progress.done();
      const k1 = results.find((r) => r.k === 1);
      const report = {
        model: modelDir ?? `preset:${preset} (random weights)`,
        parameters: model.params.count,
        bench: benchFile,
        index: found.corpus && !stringFlag(ctx, 'bench') ? found.corpus : 'the benchmark questions',
        documents: docs.length,
        threads,
        results,
        under_1s_at_k1: k1 ? k1.median_ms.total < 1000 : null,
      };
      if (boolFlag(ctx, 'json')) {
        ctx.stdout.write(JSON.stringify(report) + '\n');
      } else {
        ctx.stdout.write(`${report.model}, ${report.documents} documents, ${threads} threads\n`);
        for (const r of results) {
          const m = r.median_ms;
          ctx.stdout.write(
            `k=${r.k}: ${m.total.toFixed(0)} ms per question (retrieve ${m.retrieve.toFixed(1)}, adapt ${m.adapt.toFixed(0)}, answer ${m.answer.toFixed(0)}, restore ${m.restore.toFixed(1)}); without TTT ${r.median_base_answer_ms.toFixed(0)} ms\n`,
          );
        }
      }
    } finally {
      progress.done();
      await model.dispose();
    }
  },
};
