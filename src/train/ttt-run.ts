import { join } from 'node:path';
import { ArtifactStore } from '../core/artifacts.ts';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.ts';
import {
  writeEvalResult,
  type EvalOptions,
  type EvalResult,
  type LoadedBenchmark,
} from '../eval/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { modelEmbedder, onnxEmbedder, type Embedder } from './retrieve/dense.ts';
import {
  indexArtifact,
  type IndexField,
  type RetrievalIndex,
  type RetrieverKind,
} from './retrieve/index.ts';
import type { SkippedRow } from './examples.ts';
import { TestTimeTrainer, type TttOptions } from './ttt.ts';
import { evaluateWithTtt, type TttRecord, type TttSummary } from './ttt-eval.ts';

/** Where the dense retriever's vectors come from. */
export type EmbedderSpec =
  { model: CausalLM } | { onnx: string; tokenizer: string; output?: string };

/** Options of a TTT evaluation run. */
export interface TttRunOptions extends TttOptions {
  /** Training examples to retrieve from: a JSONL file (TRL SFT or prompt/chosen rows), or a built index. */
  index: string | RetrievalIndex;
  /** `bm25` (default) or `dense` (for a file index). */
  retriever?: RetrieverKind;
  /** The dense retriever's embedder (default: the model being adapted). */
  embedder?: EmbedderSpec;
  /** Which text of an index row is matched (default `all`). */
  field?: IndexField;
  /** Skip malformed index rows (counted). */
  skipBadRows?: boolean;
  /** Longest index row in bytes (default 8 MiB). */
  maxRowBytes?: number;
  /** Where the index artifact is kept (default: the store in FINEMED_HOME). */
  store?: ArtifactStore;
  /** How items are scored (mode, shots, choice style, limit, progress, signal...). */
  eval?: EvalOptions;
  /** Write `ttt_summary.json`, `ttt_records.jsonl` and `eval/` here. */
  outDir?: string;
}

/** What a TTT run produced. */
export interface TttRunResult {
  /** The headline figures, plus where the index came from. */
  summary: TttSummary & {
    index: { key: string | null; reused: boolean; documents: number; skipped: number };
  };
  /** One record per item. */
  records: TttRecord[];
  /** The evaluation layer's result of the adapted answers. */
  result: EvalResult;
  /** The first index rows skipped under `skipBadRows` (`summary.index.skipped` counts them all). */
  indexSkipped: SkippedRow[];
}

async function embedderOf(spec: EmbedderSpec, o: TttRunOptions): Promise<Embedder> {
  if ('model' in spec) return modelEmbedder(spec.model, { session: o.session });
  return onnxEmbedder(spec.onnx, spec.tokenizer, { output: spec.output, session: o.session });
}

/**
 * Evaluates a benchmark with test-time training: builds (or reuses) the index artifact of the
 * training examples, adapts the model to every item's neighbours, scores, restores, and
 * writes the records. The model's weights are the same afterwards, bit for bit.
 */
export async function runTtt(
  model: CausalLM,
  bench: LoadedBenchmark,
  o: TttRunOptions,
): Promise<TttRunResult> {
  let index: RetrievalIndex;
  let meta = { key: null as string | null, reused: false, skipped: 0 };
  let indexSkipped: SkippedRow[] = [];
  if (typeof o.index === 'string') {
    const retriever = o.retriever ?? 'bm25';
    const embedder =
      retriever === 'dense' ? await embedderOf(o.embedder ?? { model }, o) : undefined;
    const built = await indexArtifact(o.store ?? new ArtifactStore(), o.index, {
      retriever,
      embedder,
      field: o.field,
      skipBadRows: o.skipBadRows,
      maxRowBytes: o.maxRowBytes,
      signal: o.eval?.signal,
    });
    index = built.index;
    indexSkipped = built.skippedRows;
    meta = { key: built.key, reused: built.reused, skipped: built.skipped };
  } else {
    index = o.index;
  }
  const ttt = await TestTimeTrainer.create(model, index, o);
  try {
    const run = await evaluateWithTtt(bench, ttt, o.eval);
    const summary = { ...run.summary, index: { ...meta, documents: index.docs.length } };
    if (o.outDir) {
      await writeJsonAtomic(join(o.outDir, 'ttt_summary.json'), summary);
      await writeFileAtomic(
        join(o.outDir, 'ttt_records.jsonl'),
        run.records.map((r) => JSON.stringify(r)).join('\n') + '\n',
      );
      await writeEvalResult(join(o.outDir, 'eval'), run.result);
    }
    return { summary, records: run.records, result: run.result, indexSkipped };
  } finally {
    await ttt.dispose();
  }
}
