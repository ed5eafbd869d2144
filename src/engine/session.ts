import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { sha256 } from '../core/hash.ts';
import type { Graph } from './graph.ts';
import { toOnnxBytes } from './serialize.ts';

/** An ONNX Runtime tensor (what sessions take and return). */
export type OrtTensor = ort.Tensor;
/** The ONNX Runtime tensor class, for building feeds: `new OrtTensorClass('int64', data, dims)`. */
export const OrtTensorClass = ort.Tensor;

/** Where a session runs. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** Options for {@link Session.create}. */
export interface SessionOptions {
  /**
   * `cpu` or `cuda` (needs `npx finemed install-cuda` and an NVIDIA GPU); default: the
   * environment's choice ({@link providerFromEnv}), `cpu` unless `FINEMED_PROVIDER` says otherwise.
   */
  provider?: ExecutionProvider;
  /** With `provider: 'cuda'`, run on CPU instead of failing when CUDA is unavailable. */
  allowCpuFallback?: boolean;
  /** Intra-op threads (default: every core). Fix it for bit-reproducible runs across machines. */
  threads?: number;
  /** ORT graph optimization level (default `all`). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * ORT's memory pattern (one pre-planned block for all intermediates). Off by default: on a
   * training step it raised peak memory by ~40% for no measurable speed.
   */
  memoryPattern?: boolean;
  /** Write an ORT profile (Chrome trace JSON) with this file prefix; never cached. */
  profilePrefix?: string;
}

/** Raised when the CUDA execution provider was asked for but cannot be used. */
export class CudaUnavailableError extends Error {
  override name = 'CudaUnavailableError';
}

const ortBinDir = (): string => {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
};

/** Whether this onnxruntime-node install has the CUDA provider libraries (`install-cuda` done). */
export function cudaInstalled(): boolean {
  return existsSync(join(ortBinDir(), 'libonnxruntime_providers_cuda.so'));
}

/**
 * The provider for sessions whose options name none: `FINEMED_PROVIDER` (`cpu` or `cuda`;
 * default `cpu`), with `FINEMED_CPU_FALLBACK=1` allowing CPU when CUDA is unavailable. The
 * environment reaches every session this way, the CLI's, the notebook kernel's and its
 * worker threads' (workers share `process.env`).
 */
export function providerFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Required<Pick<SessionOptions, 'provider' | 'allowCpuFallback'>> {
  const provider = env.FINEMED_PROVIDER || 'cpu';
  if (provider !== 'cpu' && provider !== 'cuda') {
    throw new Error(`FINEMED_PROVIDER must be cpu or cuda, got '${provider}'`);
  }
  return { provider, allowCpuFallback: env.FINEMED_CPU_FALLBACK === '1' };
}

const CUDA_HELP =
  'the CUDA execution provider is not available: run `npx finemed install-cuda` (downloads the ' +
  "CUDA 12 build of onnxruntime-node's provider libraries; needs an NVIDIA driver, CUDA 12 and " +
  'cuDNN 9), or allow running on CPU instead (FINEMED_CPU_FALLBACK=1, or allowCpuFallback in code)';

interface CacheEntry {
  opened: Promise<OpenedSession>;
  users: number;
}

/** An ORT session and the provider it actually runs on. */
export interface OpenedSession {
  /** The ORT session. */
  session: ort.InferenceSession;
  /** `cpu` when CUDA was asked for, failed to start, and the caller allowed the fallback. */
  provider: ExecutionProvider;
}

// Per-isolate cache: each worker thread has its own module instance, so this is worker-safe.
const cache = new Map<string, CacheEntry>();
const bytesCache = new WeakMap<Graph, { revision: number; bytes: Uint8Array; hash: string }>();

/** The serialized model bytes of a graph and their hash (memoized per graph revision). */
export function modelBytes(graph: Graph): { bytes: Uint8Array; hash: string } {
  const hit = bytesCache.get(graph);
  if (hit && hit.revision === graph.revision) return hit;
  const bytes = toOnnxBytes(graph);
  const entry = { revision: graph.revision, bytes, hash: sha256(bytes) };
  bytesCache.set(graph, entry);
  return entry;
}

function ortOptions(
  provider: ExecutionProvider,
  o: SessionOptions,
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    intraOpNumThreads: o.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: o.optimization ?? 'all',
    enableMemPattern: o.memoryPattern ?? false,
    enableProfiling: o.profilePrefix !== undefined,
    profileFilePrefix: o.profilePrefix,
    logSeverityLevel: 3,
  };
}

/**
 * The provider a session asks ORT for: the options' own, else the environment's; CPU when
 * CUDA's libraries are not installed and the fallback is allowed.
 */
function chooseProvider(
  options: SessionOptions,
): Required<Pick<SessionOptions, 'provider' | 'allowCpuFallback'>> {
  const chosen = options.provider
    ? { provider: options.provider, allowCpuFallback: false }
    : providerFromEnv();
  const allowCpuFallback = options.allowCpuFallback ?? chosen.allowCpuFallback;
  if (chosen.provider === 'cuda' && !cudaInstalled()) {
    if (!allowCpuFallback) throw new CudaUnavailableError(CUDA_HELP);
    return { provider: 'cpu', allowCpuFallback };
  }
  return { provider: chosen.provider, allowCpuFallback };
}

/**
 * Compiles model bytes with ORT. The CUDA provider can fail to start even when its libraries
 * are installed (no driver, no device, CUDA or cuDNN missing from the library path): that
 * failure becomes a {@link CudaUnavailableError}, or a CPU session when `allowCpuFallback`.
 */
export async function openOrtSession(
  bytes: Uint8Array,
  provider: ExecutionProvider,
  options: SessionOptions = {},
): Promise<OpenedSession> {
  try {
    return {
      session: await ort.InferenceSession.create(bytes, ortOptions(provider, options)),
      provider,
    };
  } catch (err) {
    const message = (err as Error).message;
    if (provider !== 'cuda' || !/cuda/i.test(message)) throw err;
    if (!options.allowCpuFallback) throw new CudaUnavailableError(`${CUDA_HELP} (${message})`);
    return openOrtSession(bytes, 'cpu', options);
  }
}

/**
 * A compiled graph. Sessions are cached by model bytes and options, so asking twice for the
 * same graph signature compiles once. `run` blocks the calling thread for the whole
 * computation: run training from a worker thread when a UI must stay responsive.
 */
export class Session {
  private disposed = false;

  private constructor(
    private readonly ort: ort.InferenceSession,
    private readonly key: string | undefined,
    /** The provider actually used (`cpu` after a permitted CUDA fallback). */
    readonly provider: ExecutionProvider,
    /** The cache key's model hash. */
    readonly modelHash: string,
    /** Whether this came from the cache rather than a new compilation. */
    readonly cached: boolean,
  ) {}

  /** Compiles (or reuses) a session for a graph or serialized ONNX model bytes. */
  static async create(model: Graph | Uint8Array, options: SessionOptions = {}): Promise<Session> {
    const { bytes, hash } =
      model instanceof Uint8Array ? { bytes: model, hash: sha256(model) } : modelBytes(model);
    const { provider, allowCpuFallback } = chooseProvider(options);
    const profiling = options.profilePrefix !== undefined;
    const key = [
      hash,
      // A CUDA request that may fall back must not share a cache entry with one that may not.
      provider === 'cuda' && allowCpuFallback ? 'cuda-or-cpu' : provider,
      options.threads ?? availableParallelism(),
      options.optimization ?? 'all',
      options.memoryPattern ?? false,
    ].join('|');
    const hit = profiling ? undefined : cache.get(key);
    if (hit) {
      hit.users++;
      const { session, provider: used } = await hit.opened;
      return new Session(session, key, used, hash, true);
    }
    const opened = openOrtSession(bytes, provider, { ...options, allowCpuFallback }).catch(
      (err: Error) => {
        cache.delete(key);
        throw err;
      },
    );
    if (!profiling) cache.set(key, { opened, users: 1 });
    const { session, provider: used } = await opened;
    return new Session(session, profiling ? undefined : key, used, hash, false);
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
