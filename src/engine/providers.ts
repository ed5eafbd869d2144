import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';

/** Where a session runs. */
export type ExecutionProvider = 'cpu' | 'cuda' | 'webgpu';

/** Every provider name, as `FINEMED_PROVIDER` accepts them. */
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda', 'webgpu'];

/** A provider to ask ORT for, and whether CPU may stand in when it cannot start. */
export interface ProviderChoice {
  /** The provider to ask for. */
  provider: ExecutionProvider;
  /** Run on CPU instead of failing when a GPU provider is unavailable. */
  allowCpuFallback: boolean;
}

/** Raised when a GPU execution provider was asked for but cannot be used. */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
  constructor(
    /** The provider that was asked for. */
    readonly provider: ExecutionProvider,
    message: string,
  ) {
    super(message);
  }
}

/** Raised when the CUDA execution provider was asked for but cannot be used. */
export class CudaUnavailableError extends ProviderUnavailableError {
  override name = 'CudaUnavailableError';
  constructor(message: string) {
    super('cuda', message);
  }
}

/** Raised when the WebGPU execution provider was asked for but cannot be used. */
export class WebGpuUnavailableError extends ProviderUnavailableError {
  override name = 'WebGpuUnavailableError';
  constructor(message: string) {
    super('webgpu', message);
  }
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
 * The provider for sessions whose options name none: `FINEMED_PROVIDER` (`cpu`, `cuda` or
 * `webgpu`; default `cpu`), with `FINEMED_CPU_FALLBACK=1` allowing CPU when the GPU is unavailable. The
 * environment reaches every session this way, the CLI's, the notebook kernel's and its
 * worker threads' (workers share `process.env`).
 */
export function providerFromEnv(env: NodeJS.ProcessEnv = process.env): ProviderChoice {
  const provider = (env.FINEMED_PROVIDER || 'cpu') as ExecutionProvider;
  if (!EXECUTION_PROVIDERS.includes(provider)) {
    throw new Error(
      `FINEMED_PROVIDER must be one of ${EXECUTION_PROVIDERS.join(', ')}, got '${provider}'`,
    );
  }
  return { provider, allowCpuFallback: env.FINEMED_CPU_FALLBACK === '1' };
}

const FALLBACK_HINT =
  'or allow running on CPU instead (FINEMED_CPU_FALLBACK=1, or allowCpuFallback in code)';

/** How each GPU provider is detected, recognised when ORT refuses it, and explained. */
interface GpuProvider {
  /** Whether this install can ask ORT for it at all. */
  installed(): boolean;
  /** Matches ORT's message when the provider itself failed to start. */
  failure: RegExp;
  /** The error to raise, given ORT's reason (or none when not installed). */
  unavailable(reason?: string): ProviderUnavailableError;
}

const withReason = (help: string, reason?: string): string =>
  reason === undefined ? help : `${help} (${reason.trim()})`;

const GPU_PROVIDERS: Record<Exclude<ExecutionProvider, 'cpu'>, GpuProvider> = {
  cuda: {
    installed: () => cudaInstalled(),
    failure: /cuda/i,
    unavailable: (reason) =>
      new CudaUnavailableError(
        withReason(
          'the CUDA execution provider is not available: run `npx finemed install-cuda` ' +
            "(downloads the CUDA 12 build of onnxruntime-node's provider libraries; needs an " +
            `NVIDIA driver, CUDA 12 and cuDNN 9), ${FALLBACK_HINT}`,
          reason,
        ),
      ),
  },
  webgpu: {
    installed: () => ort.listSupportedBackends().some((b) => b.name === 'webgpu' && b.bundled),
    failure: /webgpu|dawn|adapter/i,
    unavailable: (reason) =>
      new WebGpuUnavailableError(
        withReason(
          'the WebGPU execution provider is not available: it needs a GPU adapter that Dawn ' +
            'accepts (Vulkan on Linux, Metal on macOS, D3D12 on Windows; software Vulkan such ' +
            `as lavapipe is refused), ${FALLBACK_HINT}`,
          reason,
        ),
      ),
  },
};

/**
 * The provider a session asks ORT for: the options' own, else the environment's; CPU when
 * the GPU provider is not installed and the fallback is allowed.
 */
export function chooseProvider(
  provider: ExecutionProvider | undefined,
  allowFallback: boolean | undefined,
): ProviderChoice {
  const chosen = provider ? { provider, allowCpuFallback: false } : providerFromEnv();
  const allowCpuFallback = allowFallback ?? chosen.allowCpuFallback;
  if (chosen.provider !== 'cpu' && !GPU_PROVIDERS[chosen.provider].installed()) {
    if (!allowCpuFallback) throw GPU_PROVIDERS[chosen.provider].unavailable();
    return { provider: 'cpu', allowCpuFallback };
  }
  return { provider: chosen.provider, allowCpuFallback };
}

/**
 * The error to raise when ORT failed to create a `provider` session with `message`, if that
 * failure is the GPU provider refusing to start (not, say, a malformed model).
 */
export function gpuRefusal(
  provider: ExecutionProvider,
  message: string,
): ProviderUnavailableError | undefined {
  if (provider === 'cpu' || !GPU_PROVIDERS[provider].failure.test(message)) return undefined;
  return GPU_PROVIDERS[provider].unavailable(message);
}
