import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { sha256 } from '../core/hash.ts';
import type { Graph } from './graph.ts';
import { chooseProvider, gpuRefusal, type ExecutionProvider } from './providers.ts';
import { toOnnxBytes } from './serialize.ts';
import type { FrozenWeights, WeightsFile } from './weights.ts';

/** An ONNX Runtime tensor (what sessions take and return). */
export type OrtTensor = ort.Tensor;
/** The ONNX Runtime tensor class, for building feeds: `new OrtTensorClass('int64', data, dims)`. */
export const OrtTensorClass = ort.Tensor;

export {
  cudaInstalled,
  CudaUnavailableError,
  EXECUTION_PROVIDERS,
  ProviderUnavailableError,
  providerFromEnv,
  WebGpuUnavailableError,
  type ExecutionProvider,
} from './providers.ts';

/** Options for {@link Session.create}. */
export interface SessionOptions {
  /**
   * `cpu`, `cuda` (needs `npx finemed install-cuda` and an NVIDIA GPU) or `webgpu` (bundled;
   * needs a GPU adapter: Vulkan, Metal or D3D12); default: the environment's choice
   * ({@link providerFromEnv}), `cpu` unless `FINEMED_PROVIDER` says otherwise.
   */
  provider?: ExecutionProvider;
  /** With a GPU provider, run on CPU instead of failing when the GPU is unavailable. */
  allowCpuFallback?: boolean;
  /**
   * Values of the graph's frozen parameters (`g.param(..., { frozen: true })`), which the
   * session copies into its initializers at creation (see `weights.ts` for the contract).
   */
  weights?: FrozenWeights;
  /** Intra-op threads (default: every core). Fix it for bit-reproducible runs across machines. */
  threads?: number;
  /** ORT graph optimization level (default `all`). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * ORT's memory pattern (one pre-planned block for all intermediates). Off by default: on a
   * training step it raised peak memory by ~40% for no measurable speed.
   */
  memoryPattern?: boolean;
  /**
   * Let ORT prepack constant GEMM weights (default false). Prepacking keeps a second,
   * GEMM-ready copy of each frozen weight it packs, and a tied embedding (Gather + head) stays
   * held twice; off, a session holds one copy of its frozen weights. Alone it bought no
   * measurable speed for scoring or LoRA steps of a Qwen2.5-0.5B-shaped model on 2 CPU cores
   * and cost ~2 GB (see README.md), so it is opt-in; the fast inference path of real models
   * (`model/graphs.ts`) turns it on: a fused GEMM gives each projection the columns separate
   * GEMMs would only when the weights are packed.
   */
  prepack?: boolean;
  /**
   * Let idle intra-op threads spin between kernels (ORT's default, true): it saves the wake-up
   * latency when the cores are free, and burns CPU the other processes want when they are not.
   */
  spinning?: boolean;
  /** Write an ORT profile (Chrome trace JSON) with this file prefix; never cached. */
  profilePrefix?: string;
}

interface CacheEntry {
  opened: Promise<OpenedSession>;
  users: number;
}

/** An ORT session and the provider it actually runs on. */
export interface OpenedSession {
  /** The ORT session. */
  session: ort.InferenceSession;
  /** `cpu` when a GPU was asked for, failed to start, and the caller allowed the fallback. */
  provider: ExecutionProvider;
}

// Per-isolate cache: each worker thread has its own module instance, so this is worker-safe.
const cache = new Map<string, CacheEntry>();
const bytesCache = new WeakMap<
  Graph,
  { revision: number; weights?: WeakRef<FrozenWeights>; bytes: Uint8Array; hash: string }
>();

/**
 * The serialized model bytes of a graph and their hash (memoized per graph revision and
 * weights source, whose layout fixes the frozen initializers' offsets).
 */
export function modelBytes(
  graph: Graph,
  weights?: FrozenWeights,
): { bytes: Uint8Array; hash: string } {
  const hit = bytesCache.get(graph);
  if (hit && hit.revision === graph.revision && hit.weights?.deref() === weights) return hit;
  const bytes = toOnnxBytes(graph, weights);
  const entry = {
    revision: graph.revision,
    weights: weights && new WeakRef(weights),
    bytes,
    hash: sha256(bytes),
  };
  bytesCache.set(graph, entry);
  return entry;
}

function ortOptions(
  provider: ExecutionProvider,
  o: SessionOptions,
  files: readonly WeightsFile[] | undefined,
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    // ORT copies the weights out of these buffers during creation (see weights.ts).
    externalData: files ? [...files] : undefined,
    intraOpNumThreads: o.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: o.optimization ?? 'all',
    enableMemPattern: o.memoryPattern ?? false,
    enableProfiling: o.profilePrefix !== undefined,
    profileFilePrefix: o.profilePrefix,
    logSeverityLevel: 3,
    extra: {
      session: {
        ...(o.prepack !== true ? { disable_prepacking: '1' } : {}),
        ...(o.spinning === false ? { intra_op: { allow_spinning: '0' } } : {}),
      },
    },
  };
}

/**
 * Compiles model bytes with ORT. A GPU provider can fail to start even when installed (CUDA:
 * no driver, no device, CUDA or cuDNN missing from the library path; WebGPU: no adapter Dawn
 * accepts): that failure becomes a {@link ProviderUnavailableError} carrying ORT's reason, or
 * a CPU session when `allowCpuFallback`.
 */
export async function openOrtSession(
  bytes: Uint8Array,
  provider: ExecutionProvider,
  options: SessionOptions = {},
): Promise<OpenedSession> {
  const files = options.weights?.files();
  try {
    return {
      session: await ort.InferenceSession.create(bytes, ortOptions(provider, options, files)),
      provider,
    };
  } catch (err) {
    const refusal = gpuRefusal(provider, (err as Error).message);
    if (!refusal) throw err;
    if (!options.allowCpuFallback) throw refusal;
    return openOrtSession(bytes, 'cpu', options);
  } finally {
    // The session holds its copy now: buffers read for it alone go at once (weights.ts).
    if (files) options.weights?.releaseFiles?.(files);
  }
}

/**
 * What a session checks before each run: its frozen weights are still the ones it copied.
 * Weakly held, so that dropping the weights (once ORT has its copy) frees them.
 */
interface WeightsCheck {
  weights: WeakRef<FrozenWeights>;
  names: readonly string[];
  key: string;
}

/**
 * A compiled graph. Sessions are cached by model bytes, frozen weights' version and options,
 * so asking twice for the same graph signature and weights compiles once. `run` blocks the
 * calling thread for the whole computation: run training from a worker thread when a UI must
 * stay responsive.
 */
export class Session {
  private disposed = false;

  private constructor(
    private readonly ort: ort.InferenceSession,
    private readonly key: string | undefined,
    /** The provider actually used (`cpu` after a permitted GPU fallback). */
    readonly provider: ExecutionProvider,
    /** The cache key's model hash. */
    readonly modelHash: string,
    /** Whether this came from the cache rather than a new compilation. */
    readonly cached: boolean,
    private readonly weightsCheck: WeightsCheck | undefined,
  ) {}

  /**
   * Compiles (or reuses) a session for a graph or serialized ONNX model bytes. A graph with
   * frozen parameters needs `options.weights`; the session copies them now.
   */
  static async create(model: Graph | Uint8Array, options: SessionOptions = {}): Promise<Session> {
    const { bytes, hash } =
      model instanceof Uint8Array
        ? { bytes: model, hash: sha256(model) }
        : modelBytes(model, options.weights);
    const frozen = model instanceof Uint8Array ? [] : model.params.filter((p) => p.frozen);
    const check =
      options.weights && frozen.length > 0
        ? {
            weights: new WeakRef(options.weights),
            names: frozen.map((p) => p.name),
            key: options.weights.weightsKey(frozen.map((p) => p.name)),
          }
        : undefined;
    const { provider, allowCpuFallback } = chooseProvider(
      options.provider,
      options.allowCpuFallback,
    );
    const profiling = options.profilePrefix !== undefined;
    const key = [
      hash,
      check?.key ?? '',
      // A GPU request that may fall back must not share a cache entry with one that may not.
      provider !== 'cpu' && allowCpuFallback ? `${provider}-or-cpu` : provider,
      options.threads ?? availableParallelism(),
      options.optimization ?? 'all',
      options.memoryPattern ?? false,
      options.prepack ?? false,
      options.spinning ?? true,
    ].join('|');
    const hit = profiling ? undefined : cache.get(key);
    if (hit) {
      hit.users++;
      const { session, provider: used } = await hit.opened;
      return new Session(session, key, used, hash, true, check);
    }
    const opened = openOrtSession(bytes, provider, { ...options, allowCpuFallback }).catch(
      (err: Error) => {
        cache.delete(key);
        throw err;
      },
    );
    if (!profiling) cache.set(key, { opened, users: 1 });
    const { session, provider: used } = await opened;
    return new Session(session, profiling ? undefined : key, used, hash, false, check);
  }

  /** Graph input names. */
  get inputNames(): readonly string[] {
    return this.ort.inputNames;
  }

  /** Graph output names. */
  get outputNames(): readonly string[] {
    return this.ort.outputNames;
  }

  /**
   * Runs the graph. `fetch` lists the outputs to return (default: all), or maps output names
   * to pre-allocated tensors that ORT writes into directly (e.g. views of a gradient arena).
   */
  async run(
    feeds: Record<string, OrtTensor>,
    fetch?: readonly string[] | Record<string, OrtTensor | null>,
  ): Promise<Record<string, OrtTensor>> {
    if (this.disposed) throw new Error('session was disposed');
    const check = this.weightsCheck;
    const weights = check?.weights.deref();
    if (check && weights) {
      const now = weights.weightsKey(check.names);
      if (now !== check.key) {
        throw new Error(
          `the frozen weights changed since this session copied them (${check.key}, now ${now}): create a new session (Session.create) to run with the new values`,
        );
      }
    }
    const names = fetch === undefined ? this.ort.outputNames : undefined;
    const fetches = names
      ? [...names]
      : Array.isArray(fetch)
        ? [...fetch]
        : (fetch as Record<string, OrtTensor | null>);
    return (await this.ort.run(feeds, fetches as ort.InferenceSession.FetchesType)) as Record<
      string,
      OrtTensor
    >;
  }

  /** Writes the profile (when created with `profilePrefix`) and returns nothing; ORT names the file. */
  endProfiling(): void {
    this.ort.endProfiling();
  }

  /** Releases this handle; the compiled session is freed when its last user disposes. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const entry = this.key ? cache.get(this.key) : undefined;
    if (entry) {
      entry.users--;
      if (entry.users > 0) return;
      cache.delete(this.key!);
    }
    await this.ort.release();
  }
}

/** How many compiled sessions the cache holds (for tests and diagnostics). */
export function cachedSessionCount(): number {
  return cache.size;
}
