import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactStore } from '../../core/artifacts.ts';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic.ts';
import { InputError } from '../../core/errors.ts';
import { hashFile } from '../../core/hash.ts';
import type { ChatMessage } from '../../model/tokenizer.ts';
import {
  BadRow,
  parseRows,
  parseSftRecord,
  readJsonlRecords,
  type LoadedRows,
  type ReadOptions,
  type RowSource,
  type SftExample,
  type SkippedRow,
} from '../examples.ts';
import { Bm25Index, type Bm25Json, type Bm25Options } from './bm25.ts';
import { DenseIndex, type Embedder } from './dense.ts';
import { RETRIEVERS } from '../knobs/ttt.ts';

/** A training example TTT can retrieve and train on. */
export interface IndexDocument {
  /** The row's id (or its line). */
  id: string;
  /** What TTT trains on: a conversation ending in the answer, or plain text. */
  example: SftExample;
  /** What retrieval matches queries against. */
  text: string;
}

/** Which text of a conversation is indexed: the prompt turns, or the whole example (default). */
export type IndexField = 'prompt' | 'all';

export { RETRIEVERS };

/** A retriever kind. */
export type RetrieverKind = (typeof RETRIEVERS)[number];

/** A retrieved document. */
export interface Neighbour {
  /** Position in the index. */
  index: number;
  /** The document's id. */
  id: string;
  /** Similarity (BM25 score or cosine). */
  score: number;
}

/** Documents and a way to find the nearest ones to a query. */
export interface RetrievalIndex {
  /** How it ranks. */
  readonly kind: RetrieverKind;
  /** The indexed documents. */
  readonly docs: readonly IndexDocument[];
  /** The `k` nearest documents, nearest first. */
  search(query: string, k: number, signal?: AbortSignal): Promise<Neighbour[]>;
}

function textOf(example: SftExample, field: IndexField): string {
  if (example.kind === 'text') return example.text;
  const lastAnswer = example.messages.map((m) => m.role).lastIndexOf('assistant');
  const turns = field === 'prompt' ? example.messages.slice(0, lastAnswer) : example.messages;
  return turns.map((m) => m.content).join('\n');
}

/** Parses one index row: SFT `messages` (ending at the last assistant turn), `text`, or `prompt`/`chosen`. */
export function parseIndexRecord(
  record: unknown,
  source: RowSource,
  field: IndexField = 'all',
): IndexDocument {
  const r = record as Record<string, unknown> | null;
  let example: SftExample;
  if (r && typeof r === 'object' && 'prompt' in r && 'chosen' in r) {
    const turn = (key: 'prompt' | 'chosen', role: string): ChatMessage[] => {
      const v = r[key];
      if (typeof v === 'string' && v !== '') return [{ role, content: v }];
      if (Array.isArray(v))
        return (parseSftRecord({ messages: v }, source) as { messages: ChatMessage[] }).messages;
      throw new BadRow('expected a string or a list of messages', key);
    };
    example = {
      kind: 'messages',
      messages: [...turn('prompt', 'user'), ...turn('chosen', 'assistant')],
      source,
    };
  } else {
    example = parseSftRecord(record, source);
  }
  if (example.kind === 'messages') {
    const last = example.messages.map((m) => m.role).lastIndexOf('assistant');
    if (last < 0) throw new BadRow('a training example needs an assistant answer', 'messages');
    example = { ...example, messages: example.messages.slice(0, last + 1) };
  }
  const id =
    typeof r?.id === 'string' || typeof r?.id === 'number'
      ? String(r.id)
      : `${source.file}:${source.line}`;
  return { id, example: { ...example, source: { ...source, id } }, text: textOf(example, field) };
}

/** Reads index documents from JSONL in TRL's SFT or preference format. */
export async function readIndexDocuments(
  file: string,
  options: ReadOptions & { field?: IndexField } = {},
): Promise<LoadedRows<IndexDocument>> {
  const records = await readJsonlRecords(file, options);
  return parseRows(records, (r, s) => parseIndexRecord(r, s, options.field), { ...options, file });
}

const neighbours = (
  docs: readonly IndexDocument[],
  hits: { index: number; score: number }[],
): Neighbour[] => hits.map((h) => ({ index: h.index, id: docs[h.index].id, score: h.score }));

function bm25Index(
  docs: readonly IndexDocument[],
  bm25: Bm25Index,
): RetrievalIndex & { bm25: Bm25Index } {
  return {
    kind: 'bm25',
    docs,
    bm25,
    search: async (query, k) => neighbours(docs, bm25.search(query, k)),
  };
}

function denseIndex(
  docs: readonly IndexDocument[],
  dense: DenseIndex,
  embedder: Embedder,
): RetrievalIndex & { dense: DenseIndex } {
  return {
    kind: 'dense',
    docs,
    dense,
    search: async (query, k, signal) =>
      neighbours(docs, dense.search((await embedder.embed([query], signal))[0], k)),
  };
}

/** How to build an index. */
export interface BuildIndexOptions {
  /** `bm25` (default) or `dense`. */
  retriever?: RetrieverKind;
  /** The dense retriever's embedder. */
  embedder?: Embedder;
  /** BM25 parameters. */
  bm25?: Bm25Options;
  /** Stops embedding. */
  signal?: AbortSignal;
}

/** Indexes documents with the chosen retriever. */
export async function buildIndex(
  docs: readonly IndexDocument[],
  o: BuildIndexOptions = {},
): Promise<RetrievalIndex> {
  if ((o.retriever ?? 'bm25') === 'bm25')
    return bm25Index(
      docs,
      Bm25Index.build(
        docs.map((d) => d.text),
        o.bm25,
      ),
    );
  if (!o.embedder)
    throw new InputError('a dense index needs an embedder (a model or an ONNX embedding model)', {
      field: 'embedder',
    });
  const vectors = await o.embedder.embed(
    docs.map((d) => d.text),
    o.signal,
  );
  return denseIndex(docs, DenseIndex.fromVectors(vectors), o.embedder);
}

interface IndexJson {
  version: 1;
  kind: RetrieverKind;
  docs: { id: string; example: SftExample; text: string }[];
  bm25?: Bm25Json;
  dense?: { dim: number; embedder: string };
}

/** Writes an index into `dir` (`index.json`, plus `vectors.bin` for a dense index), atomically. */
export async function saveIndex(
  index: RetrievalIndex,
  dir: string,
  embedder?: Embedder,
): Promise<void> {
  const json: IndexJson = { version: 1, kind: index.kind, docs: [...index.docs] };
  if ('bm25' in index) json.bm25 = (index.bm25 as Bm25Index).toJSON();
  if ('dense' in index) {
    const dense = index.dense as DenseIndex;
    json.dense = { dim: dense.dim, embedder: embedder?.id ?? '' };
    await writeFileAtomic(
      join(dir, 'vectors.bin'),
      new Uint8Array(dense.vectors.buffer, dense.vectors.byteOffset, dense.vectors.byteLength),
    );
  }
  await writeJsonAtomic(join(dir, 'index.json'), json);
}

/** Reads an index written by {@link saveIndex}; a dense one needs the embedder that built it. */
export async function loadIndex(dir: string, embedder?: Embedder): Promise<RetrievalIndex> {
  const file = join(dir, 'index.json');
  const json = JSON.parse(await readFile(file, 'utf8')) as IndexJson;
  if (json.kind === 'bm25') return bm25Index(json.docs, Bm25Index.fromJSON(json.bm25!));
  if (!embedder || embedder.id !== json.dense!.embedder)
    throw new InputError(
      `this dense index was built with ${json.dense!.embedder}; pass the same embedder`,
      { file },
    );
  const bytes = await readFile(join(dir, 'vectors.bin'));
  const vectors = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
  );
  return denseIndex(json.docs, new DenseIndex(json.dense!.dim, vectors), embedder);
}

/** Skipped index rows kept in the artifact's summary, so a reused index can still show them. */
const SKIPPED_KEPT = 10;

/**
 * The index of a training file as an artifact (kind `index`), built once: keyed by the file's
 * content, the retriever, its settings and the embedder, and reused when asked again.
 * `skippedRows` holds the first few rows skipped (all of `skipped` counts them).
 */
export async function indexArtifact(
  store: ArtifactStore,
  file: string,
  o: BuildIndexOptions & Omit<ReadOptions, 'onSkipped'> & { field?: IndexField } = {},
): Promise<{
  index: RetrievalIndex;
  dir: string;
  key: string;
  reused: boolean;
  skipped: number;
  skippedRows: SkippedRow[];
}> {
  const retriever = o.retriever ?? 'bm25';
  let skipped = 0;
  const artifact = await store.getOrCreate(
    {
      kind: 'index',
      inputs: { data: await hashFile(file), ...(o.embedder ? { embedder: o.embedder.id } : {}) },
      config: {
        retriever,
        field: o.field ?? 'all',
        bm25: retriever === 'bm25' ? (o.bm25 ?? {}) : null,
        skipBadRows: o.skipBadRows ?? false,
        ...(o.maxRowBytes !== undefined ? { maxRowBytes: o.maxRowBytes } : {}),
      },
      seed: 0,
    },
    async (dir) => {
      const docs = await readIndexDocuments(file, o);
      skipped = docs.skipped.length;
      await saveIndex(await buildIndex(docs.rows, { ...o, retriever }), dir, o.embedder);
      // Lines and reasons only: the path the file was read from is not part of the artifact.
      const skippedRows = docs.skipped
        .slice(0, SKIPPED_KEPT)
        .map((s) => ({ line: s.source.line, reason: s.reason }));
      return { documents: docs.rows.length, skipped, skippedRows, retriever };
    },
  );
  const index = await loadIndex(artifact.dir, o.embedder);
  const summary = artifact.meta.summary as
    { skipped?: number; skippedRows?: { line: number; reason: string }[] } | undefined;
  return {
    index,
    dir: artifact.dir,
    key: artifact.meta.key,
    reused: artifact.reused,
    skipped: summary?.skipped ?? skipped,
    skippedRows: (summary?.skippedRows ?? []).map(({ line, reason }) => ({
      source: { file, line },
      reason,
    })),
  };
}
