import { isAbsolute, resolve } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { ArtifactStore } from '../core/artifacts.ts';
import { CancelledError } from '../core/errors.ts';
import type { JobContext, JobImplementation } from './job.ts';
import { toWireError } from './protocol.ts';
import type { WorkerData, WorkerReport, WorkerRequest } from './worker.ts';

const port = parentPort;
if (!port) throw new Error('worker-main.ts must run in a worker thread');

const controller = new AbortController();
const report = (message: WorkerReport): void => port.postMessage(message);

// A worker is started ahead of need and waits here for its one job.
port.on('message', (message: WorkerRequest) => {
  if (message.type === 'cancel') controller.abort(new CancelledError('job cancelled'));
  else void run(message.data);
});
report({ type: 'ready' });

async function run(data: WorkerData): Promise<void> {
  const store = new ArtifactStore(data.storeRoot);
  const ctx: JobContext = {
    signal: controller.signal,
    dir: data.dir,
    workDir: data.workDir,
    seed: data.seed,
    resolvePath: (path) => (isAbsolute(path) ? path : resolve(data.base, path)),
    artifactDir: (ref) => store.dir(ref.kind, ref.key),
    storeRoot: data.storeRoot,
    progress: (event) => report({ type: 'progress', event }),
  };
  try {
    const module = (await import(data.module)) as Record<string, unknown>;
    const implementation = module[data.exportName] as JobImplementation | undefined;
    if (typeof implementation !== 'function') {
      throw new Error(`${data.module} has no exported function '${data.exportName}'`);
    }
    const summary = await implementation(data.params, ctx);
    if (controller.signal.aborted) throw controller.signal.reason;
    report({ type: 'done', summary });
  } catch (error) {
    report({ type: 'failed', error: toWireError(error) });
  }
  // The parent terminates this thread once it has the report.
}
