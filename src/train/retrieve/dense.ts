import { readFile } from 'node:fs/promises';
import { InputError, throwIfCancelled } from '../../core/errors.ts';
import { hashFile, sha256 } from '../../core/hash.ts';
import {
  Graph,
  OrtTensorClass,
  Session,
  type OrtTensor,
  type SessionOptions,
} from '../../engine/index.ts';
import type { CausalLM } from '../../model/causal-lm.ts';
import { buildDecoder } from '../../model/decoder.ts';
import { TextTokenizer } from '../../model/tokenizer.ts';
import { topK, type Hit } from './bm25.ts';

/** Turns texts into unit-length vectors. */
export interface Embedder {
  /** What made the vectors (a model's weight hash, an ONNX file's hash); it keys the index. */
  readonly id: string;
  /** One L2-normalized vector per text. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** Token budget and batching of an embedder. */
export interface EmbedOptions {
  /** Longest input in tokens (longer texts keep their start; default 256). */
  maxLength?: number;
  /** Texts per forward (default 16). */
  batchSize?: number;
  /** ONNX Runtime settings. */
  session?: SessionOptions;
}

function ids2d(rows: number[][], fill: (row: number[], t: number) => number): OrtTensor {
  const width = Math.max(...rows.map((r) => r.length));
  const data = new BigInt64Array(rows.length * width);
  rows.forEach((row, r) => {
    for (let t = 0; t < width; t++) data[r * width + t] = BigInt(fill(row, t));
  });
  return new OrtTensorClass('int64', data, [rows.length, width]);
}

/** Mean over real tokens of `[B, T, D]` hidden states (right padding), normalized to unit length. */
export function meanPool(
  hidden: Float32Array,
  dims: readonly number[],
  lengths: readonly number[],
): Float32Array[] {
  const [batch, width, dim] = dims;
  return Array.from({ length: batch }, (_, r) => {
    const v = new Float32Array(dim);
    for (let t = 0; t < lengths[r]; t++) {
      const at = (r * width + t) * dim;
      for (let d = 0; d < dim; d++) v[d] += hidden[at + d];
    }
    return normalize(v);
  });
}

/** Scales a vector to unit length (a zero vector stays zero). */
export function normalize(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

async function embedBatches(
  tokenize: (text: string) => number[],
  texts: readonly string[],
  o: EmbedOptions,
  forward: (rows: number[][]) => Promise<Float32Array[]>,
  signal?: AbortSignal,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const batch = o.batchSize ?? 16;
  for (let i = 0; i < texts.length; i += batch) {
    throwIfCancelled(signal);
    const rows = texts.slice(i, i + batch).map((t) => {
      const ids = tokenize(t).slice(0, o.maxLength ?? 256);
      return ids.length > 0 ? ids : [0];
    });
    out.push(...(await forward(rows)));
  }
  return out;
}

/** Mean-pooled final hidden states of a causal LM (its tokenizer, no chat template). */
export async function modelEmbedder(model: CausalLM, o: EmbedOptions = {}): Promise<Embedder> {
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new InputError('the embedding model has no tokenizer (tokenizer.json)');
  const g = new Graph({ name: 'finemed-embed' });
  const inputIds = g.input('input_ids', 'int64', ['B', 'T']);
  const { hidden } = buildDecoder(
    g,
    model.config,
    { inputIds },
    { trainableBase: false, lora: model.lora?.spec, logits: 'none' },
  );
  g.output(hidden, 'hidden');
  const session = await Session.create(g, o.session);
  const paramNames = g.params.map((p) => p.name);
  return {
    id: `model:${sha256(new Uint8Array(model.params.data.buffer, model.params.data.byteOffset, model.params.data.byteLength)).slice(0, 32)}`,
    embed: (texts, signal) =>
      embedBatches(
        (t) => tokenizer.encode(t, { addSpecialTokens: false }),
        texts,
        o,
        async (rows) => {
          const padded = ids2d(rows, (row, t) => row[t] ?? 0);
          const out = await session.run({ input_ids: padded, ...model.params.feeds(paramNames) }, [
            'hidden',
          ]);
          return meanPool(
            out.hidden.data as Float32Array,
            out.hidden.dims,
            rows.map((r) => r.length),
          );
        },
        signal,
      ),
  };
}

/**
 * A user-supplied ONNX embedding model (e.g. a sentence-transformers export) with its
 * tokenizer folder. Feeds `input_ids`, `attention_mask` and, when the model asks for it,
 * `token_type_ids` (zeros); reads `output` (default: the first output). A `[B, T, D]` output
 * is mean-pooled over the attention mask; a `[B, D]` output is used as is.
 */
export async function onnxEmbedder(
  onnxFile: string,
  tokenizerDir: string,
  o: EmbedOptions & { output?: string } = {},
): Promise<Embedder> {
  const tokenizer = await TextTokenizer.load(tokenizerDir);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(onnxFile);
  } catch (error) {
    throw new InputError(`cannot read (${(error as NodeJS.ErrnoException).code ?? error})`, {
      file: onnxFile,
    });
  }
  const session = await Session.create(bytes, o.session);
  const output = o.output ?? session.outputNames[0];
  if (!session.outputNames.includes(output))
    throw new InputError(
      `the model has no output '${output}' (it has ${session.outputNames.join(', ')})`,
      { file: onnxFile },
    );
  const missing = ['input_ids', 'attention_mask'].filter((n) => !session.inputNames.includes(n));
  if (missing.length > 0)
    throw new InputError(`the model lacks inputs ${missing.join(', ')}`, { file: onnxFile });
  return {
    id: `onnx:${(await hashFile(onnxFile)).slice(0, 32)}:${output}`,
    embed: (texts, signal) =>
      embedBatches(
        (t) => tokenizer.encode(t),
        texts,
        o,
        async (rows) => {
          const feeds: Record<string, OrtTensor> = {
            input_ids: ids2d(rows, (row, t) => row[t] ?? tokenizer.padTokenId ?? 0),
            attention_mask: ids2d(rows, (row, t) => (t < row.length ? 1 : 0)),
          };
          if (session.inputNames.includes('token_type_ids'))
            feeds.token_type_ids = ids2d(rows, () => 0);
          const out = (await session.run(feeds, [output]))[output];
          if (out.dims.length === 2)
            return rows.map((_, r) =>
              normalize(
                Float32Array.from(
                  (out.data as Float32Array).subarray(r * out.dims[1], (r + 1) * out.dims[1]),
                ),
              ),
            );
          return meanPool(
            out.data as Float32Array,
            out.dims,
            rows.map((r) => r.length),
          );
        },
        signal,
      ),
  };
}

/** Cosine nearest neighbours over unit vectors stored in one flat array. */
export class DenseIndex {
  constructor(
    /** Vector width. */
    readonly dim: number,
    /** `size × dim` unit vectors. */
    readonly vectors: Float32Array,
  ) {}

  /** Indexes vectors (all of one width). */
  static fromVectors(vectors: readonly Float32Array[]): DenseIndex {
    const dim = vectors[0]?.length ?? 0;
    const flat = new Float32Array(vectors.length * dim);
    vectors.forEach((v, i) => flat.set(v, i * dim));
    return new DenseIndex(dim, flat);
  }

  /** Documents indexed. */
  get size(): number {
    return this.dim === 0 ? 0 : this.vectors.length / this.dim;
  }

  /** The `k` most similar documents (cosine), best first. */
  search(query: Float32Array, k: number): Hit[] {
    const scores = new Float64Array(this.size);
    for (let i = 0; i < scores.length; i++) {
      let dot = 0;
      const at = i * this.dim;
      for (let d = 0; d < this.dim; d++) dot += query[d] * this.vectors[at + d];
      scores[i] = dot;
    }
    return topK(scores, k);
  }
}
