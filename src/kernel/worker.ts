import { Worker } from 'node:worker_threads';
import { CancelledError } from '../core/errors.ts';
import type { ProgressEvent } from '../core/progress.ts';
import { fromWireError, type WireError } from './protocol.ts';

/** What a job's worker thread is started with. */
export interface WorkerData {
  /** URL of the module exporting the implementation. */
  module: string;
  /** The implementation's export name. */
  exportName: string;
  /** The job's validated parameters. */
  params: unknown;
  /** The folder the job writes its artifact files into. */
  dir: string;
  /** The folder that survives an unfinished run (see `JobContext.workDir`). */
  workDir: string;
  /** The recipe's seed. */
  seed: number;
  /** The artifact store's root, to resolve upstream artifacts. */
  storeRoot: string;
  /** The folder relative paths are resolved against. */
  base: string;
}

/** Messages from the kernel to a job's worker. */
export type WorkerRequest = { type: 'start'; data: WorkerData } | { type: 'cancel' };

/** Messages from a job's worker to the kernel. */
export type WorkerReport =
  | { type: 'ready' }
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'done'; summary: unknown }
  | { type: 'failed'; error: WireError };

/** How a worker run is watched and stopped. */
export interface WorkerRunOptions {
  /** Aborting asks the job to stop; it is terminated if it has not after `graceMs`. */
  signal?: AbortSignal;
  /** How long a cancelled job may take to stop on its own. */
  graceMs: number;
  /** Receives the job's progress events. */
  onProgress?: (event: ProgressEvent) => void;
}

const entry = new URL('./worker-entry.js', import.meta.url);
let spare: Worker | undefined;

/**
 * A worker thread that has already loaded the TypeScript loader and the job runner (a few
 * hundred milliseconds of start-up), and the next one started in the background. Each worker
 * runs one job and is then terminated, which keeps native memory (ONNX Runtime sessions) from
 * piling up and makes a forced stop clean; the spare is unreferenced so it never keeps the
 * process alive.
 */
function takeWorker(): Worker {
  const worker = spare ?? new Worker(entry);
  worker.ref();
  spare = new Worker(entry);
  spare.unref();
  spare.on('error', () => (spare = undefined));
  return worker;
}

/** Runs one job in a worker thread and resolves with its summary. */
export function runInWorker(data: WorkerData, options: WorkerRunOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = takeWorker();
    let settled = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      worker.removeAllListeners();
      void worker.terminate();
      outcome();
    };
    const onAbort = (): void => {
      worker.postMessage({ type: 'cancel' } satisfies WorkerRequest);
      killTimer = setTimeout(
        () => finish(() => reject(new CancelledError('job cancelled (worker terminated)'))),
        options.graceMs,
      );
    };
    worker.on('message', (message: WorkerReport) => {
      if (message.type === 'progress') options.onProgress?.(message.event);
      else if (message.type === 'done') finish(() => resolve(message.summary));
      else if (message.type === 'failed') finish(() => reject(fromWireError(message.error)));
    });
    worker.on('error', (error) => finish(() => reject(error)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`job worker exited with code ${code} before reporting`))),
    );
    worker.postMessage({ type: 'start', data } satisfies WorkerRequest);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
