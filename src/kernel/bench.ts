import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ArtifactStore } from '../core/artifacts.ts';
import { KernelClient } from './client.ts';
import { defineJob, type JobContext } from './job.ts';
import { Kernel } from './kernel.ts';
import { loopback } from './loopback.ts';

/** A job that only reports `events` progress events: it times the kernel, not the work. */
export const echoJob = defineJob({
  name: 'bench.echo',
  summary: 'reports progress events and nothing else (kernel benchmark)',
  weight: 'light',
  kind: 'bench',
  params: z.object({ events: z.number().int().min(0), nonce: z.string() }),
  recipe: async (p) => ({ inputs: {}, config: p, seed: 0, files: [] }),
  estimate: () => ({ seconds: 0 }),
  module: import.meta.url,
  exportName: 'runEcho',
});

/** Worker side of {@link echoJob}. */
export async function runEcho(params: { events: number }, ctx: JobContext): Promise<unknown> {
  for (let step = 1; step <= params.events; step++) {
    ctx.progress({ stage: 'bench', step, total: params.events, elapsed: 0 });
  }
  return { events: params.events };
}

/** What `finemed bench kernel` measures on one transport. */
export interface TransportBench {
  /** The loopback transport's name (in-process, MessageChannel or WebSocket). */
  transport: string;
  /** Median round trip of a `hello` request, in microseconds. */
  helloMedianUs: number;
  /** Median time from `run` to result of a job that does nothing (worker start included), ms. */
  jobMedianMs: number;
  /** Progress events delivered per second to the client while a job streams them. */
  progressPerSecond: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Times the kernel's overheads over the in-process, MessageChannel and WebSocket transports. */
export async function benchKernel(
  options: { hellos?: number; jobs?: number; events?: number } = {},
): Promise<TransportBench[]> {
  const { hellos = 200, jobs = 5, events = 2000 } = options;
  const home = await mkdtemp(join(tmpdir(), 'finemed-bench-kernel-'));
  const kernel = new Kernel({ store: new ArtifactStore(home), jobs: [echoJob] });
  const served = await loopback(kernel);
  try {
    const results: TransportBench[] = [];
    for (const [name, connect] of served.transports) {
      const client = new KernelClient(connect());
      await client.hello();
      const helloUs: number[] = [];
      for (let i = 0; i < hellos; i++) {
        const t = performance.now();
        await client.hello();
        helloUs.push((performance.now() - t) * 1000);
      }
      const jobMs: number[] = [];
      for (let i = 0; i < jobs; i++) {
        const t = performance.now();
        await client.run('bench.echo', { events: 0, nonce: randomBytes(8).toString('hex') }).result;
        jobMs.push(performance.now() - t);
      }
      let first = 0;
      let last = 0;
      let seen = 0;
      await client.run(
        'bench.echo',
        { events, nonce: randomBytes(8).toString('hex') },
        {
          onEvent: (e) => {
            if (e.type !== 'progress') return;
            if (seen++ === 0) first = performance.now();
            last = performance.now();
          },
        },
      ).result;
      client.close();
      results.push({
        transport: name,
        helloMedianUs: Math.round(median(helloUs)),
        jobMedianMs: Math.round(median(jobMs) * 10) / 10,
        progressPerSecond: last > first ? Math.round((seen - 1) / ((last - first) / 1000)) : 0,
      });
    }
    return results;
  } finally {
    await kernel.close();
    await served.close();
    await rm(home, { recursive: true, force: true });
  }
}
