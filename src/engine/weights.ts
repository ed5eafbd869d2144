/**
 * Frozen weights held by a session (issue 16).
 *
 * A parameter declared `g.param(name, shape, { frozen: true })` is not a graph input: it is
 * serialized as an ONNX initializer whose data is *external*, at a byte range of an in-memory
 * "file" that `Session.create(graph, { weights })` hands to ONNX Runtime
 * (`sessionOptions.externalData`). The model proto stays a few hundred KB whatever the
 * model size (no 2 GB protobuf limit), ORT prepacks the weights for its CPU GEMM (or uploads
 * them once to a GPU), and only trainable parameters and batches cross per run.
 *
 * Contract (measured on onnxruntime-node 1.30, see `frozen-weights.test.ts` and the engine
 * README): ORT COPIES the weights while the session is created (prepacked or cast to float32
 * as its kernels need), and every session holds its own copy. Afterwards the session never
 * reads the JS buffer again and holds its source only weakly, so
 * - the caller may drop its arena once every session it needs exists (the memory then held
 *   is ORT's copies only);
 * - writes to the weights after creation never reach the session. They are tracked by
 *   {@link FrozenWeights.weightsKey}: it changes whenever a tracked write changes a frozen
 *   value, a session made from an older key refuses to run (an error naming both keys), and
 *   `Session.create` with the new key compiles a new session instead of reusing the cache.
 *   Writes made directly into a ParamSet's views must be announced with `markWeightsChanged()`.
 *
 * Releasing (issue 16: LoRA on a 0.5B model within 5 GB): a ParamSet loaded from a model folder
 * knows its {@link WeightsSource}. Frozen parameters whose values still equal the source's
 * (no tracked write since) need not stay in JS at all: a LoRA set adopts them *released*
 * (`copyFrom`), `files()` then reads them into short-lived buffers for the session being
 * created, and the session frees those at once ({@link FrozenWeights.releaseFiles}). Anything
 * that later reads a released value in JS (`view`, `data`, `snapshot`...) re-reads it from
 * the source, which refuses (naming the file and the operation) if the file changed since.
 */

/**
 * The largest in-memory file a source should hand out: Node 20 caps a Uint8Array at 4 GiB, so
 * a larger arena (a 1B+ model in float32) is split into files of about this size.
 */
export const WEIGHTS_FILE_BYTES = 2 ** 30;

/** One in-memory external-data file. */
export interface WeightsFile {
  /** The name initializers refer to, e.g. `finemed-weights-0.bin`. */
  path: string;
  /** Its bytes (a view; not copied until ORT copies the weights). */
  data: Uint8Array;
}

/** Storage types for frozen weights; `bfloat16` weights get a Cast to float32 (folded by ORT). */
export type WeightDType = 'float32' | 'bfloat16';

/** Where one weight lives among {@link FrozenWeights.files}. */
export interface WeightLocation {
  /** The {@link WeightsFile.path} holding it. */
  file: string;
  /** Element type as stored (the graph always sees float32). */
  dtype: WeightDType;
  /** Byte offset into that file; a multiple of 64. */
  byteOffset: number;
  /** Static shape; must equal the graph's declaration. */
  shape: readonly number[];
}

/** Where a parameter set's values can be read again: the model folder they were loaded from. */
export interface WeightsSource {
  /** Names the origin in errors (e.g. the folder's path). */
  readonly label: string;
  /**
   * Reads one weight, widened to float32, into `dest` (exactly its element count). Synchronous
   * because a released value can be needed by a synchronous accessor (`ParamSet.view`). Throws
   * naming the file when the weight is missing or the file changed since it was first read.
   */
  readSync(name: string, dest: Float32Array): void;
}

/** A source of frozen weights for `Session.create(graph, { weights })`: `ParamSet` is one. */
export interface FrozenWeights {
  /**
   * Identity and version of the named weights' contents: two sources (or one source before
   * and after a tracked write to one of them) with different values never share a key. Part
   * of the session cache key, and checked before every run.
   */
  weightsKey(names: readonly string[]): string;
  /** The external-data files: every weight's bytes at its {@link WeightLocation}. */
  files(): readonly WeightsFile[];
  /** The location of a weight, or undefined when this source does not have it. */
  locate(name: string): WeightLocation | undefined;
  /**
   * Called once a session has copied {@link files}: a source that read them just for that
   * session (released weights) frees them now rather than at some later garbage collection,
   * so the next allocation (the session's activations) does not stack on top of them.
   */
  releaseFiles?(files: readonly WeightsFile[]): void;
}
