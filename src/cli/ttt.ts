import { ArtifactStore } from '../core/artifacts.ts';
import { UsageError } from '../core/errors.ts';
import { finemedHome } from '../core/home.ts';
import { terminalProgress } from '../core/progress.ts';
import { loadBenchmark } from '../eval/loaders/load.ts';
import { knobFlags, knobsFromFlags } from '../train/knobs/knob.ts';
import { TTT_KNOBS, tttOptions } from '../train/knobs/ttt.ts';
import { runTtt, type EmbedderSpec } from '../train/ttt-run.ts';
import { boolFlag, intFlag, requiredFlag, stringFlag } from './command.ts';
import type { Command, CommandContext } from './command.ts';
import { jsonFlag, threadsFlag, valueFlag } from './flags.ts';
import { fileFlags, printSkipped, rowFlags, rowOptions } from './row-flags.ts';
import { modelFrom } from './train-flags.ts';

async function embedderFrom(ctx: CommandContext): Promise<EmbedderSpec | undefined> {
  const onnx = stringFlag(ctx, 'embed-onnx');
  const embedModel = stringFlag(ctx, 'embed-model');
  if (onnx && embedModel) throw new UsageError('give --embed-onnx or --embed-model, not both');
  if (onnx)
    return {
      onnx,
      tokenizer: requiredFlag(ctx, 'embed-tokenizer'),
      output: stringFlag(ctx, 'embed-output'),
    };
  if (embedModel) return { model: await modelFrom(ctx, 'embed-model') };
  return undefined;
}

/** `finemed ttt`: evaluation with test-time training on retrieved neighbours. */
export const tttCommand: Command = {
  name: 'ttt',
  summary: "Evaluate with test-time training: adapt to each question's nearest training examples",
  details: [
    'For each benchmark item: retrieve the --k nearest training examples from --index (JSONL: TRL',
    'SFT messages rows, or prompt/chosen rows), take --steps optimizer steps on each (nearest',
    'first, fresh optimizer), answer, then restore the weights bit for bit. The index is built',
    'once and kept as an artifact in $FINEMED_HOME. OUT gets ttt_summary.json, ttt_records.jsonl',
    '(neighbours, scores before/after, timings per item) and eval/ (the adapted answers in the',
    "evaluation layer's format). Paper preset: k 1, one step, lr 1e-5.",
  ].join('\n'),
  flags: {
    model: valueFlag('DIR', 'Model folder'),
    index: valueFlag('FILE', 'Training examples to retrieve from (JSONL)'),
    bench: valueFlag('FILE', 'Benchmark file'),
    out: valueFlag('DIR', 'Where records and summary go'),
    ...knobFlags(TTT_KNOBS),
    'embed-model': valueFlag(
      'DIR',
      'dense: mean-pooled hidden states of this model (default --model)',
    ),
    'embed-onnx': valueFlag('FILE', 'dense: an ONNX embedding model instead'),
    'embed-tokenizer': valueFlag('DIR', "dense: the ONNX model's tokenizer folder"),
    'embed-output': valueFlag('NAME', 'dense: the ONNX output to read (default: the first)'),
    ...rowFlags,
    ...fileFlags,
    threads: threadsFlag,
    json: jsonFlag,
  },
  async run(ctx) {
    const index = requiredFlag(ctx, 'index');
    const benchFile = requiredFlag(ctx, 'bench');
    const out = requiredFlag(ctx, 'out');
    const rows = rowOptions(ctx);
    const knobs = knobsFromFlags(TTT_KNOBS, ctx.flags);
    const bench = await loadBenchmark(benchFile, knobs.format, rows);
    printSkipped(ctx, bench.skipped);
    const threads = intFlag(ctx, 'threads', { min: 1, max: 256 });
    const model = await modelFrom(ctx);
    const embedder = await embedderFrom(ctx);
    const progress = terminalProgress(ctx.stderr);
    try {
      const o = tttOptions(knobs);
      const { summary, indexSkipped } = await runTtt(model, bench, {
        ...o,
        index,
        embedder,
        ...rows,
        store: new ArtifactStore(finemedHome()),
        session: threads ? { threads } : undefined,
        outDir: out,
        eval: { ...o.eval, seed: knobs.seed, onProgress: progress, signal: ctx.signal },
      });
      progress.done();
      printSkipped(ctx, indexSkipped, summary.index.skipped);
      if (boolFlag(ctx, 'json')) {
        ctx.stdout.write(JSON.stringify(summary) + '\n');
      } else {
        const pct = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
        ctx.stdout.write(
          [
            `${summary.n_items} items, k=${summary.k}, ${summary.steps} step(s), lr ${summary.lr}, ${summary.retriever}`,
            `accuracy ${pct(summary.accuracy_before)} -> ${pct(summary.accuracy_after)} with TTT ` +
              `(${summary.flipped.wrong_to_right} fixed, ${summary.flipped.right_to_wrong} broken)`,
            `weights restored bit for bit: ${summary.weights_restored ? 'yes' : 'NO'}; ${summary.seconds_per_item.toFixed(3)} s per item`,
            `records in ${out}`,
          ].join('\n') + '\n',
        );
      }
      if (!summary.weights_restored) return 1;
    } finally {
      progress.done();
      await model.dispose();
      if (embedder && 'model' in embedder) await embedder.model.dispose();
    }
  },
};
