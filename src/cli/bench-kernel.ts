import { intFlag } from './command.ts';
import type { Command } from './command.ts';
import { valueFlag } from './flags.ts';

/** `finemed bench kernel`: the kernel's own overheads, per transport. */
export const benchKernelCommand: Command = {
  name: 'bench kernel',
  summary: 'Measure kernel overheads: request round trip, job start in a worker, progress rate',
  details:
    'Runs a job that does nothing but report progress, over the in-process, MessageChannel and\n' +
    'WebSocket transports. Prints one JSON object per transport, then a summary object.',
  flags: {
    hellos: valueFlag('N', 'Round trips timed', '200'),
    jobs: valueFlag('N', 'Empty jobs timed', '5'),
    events: valueFlag('N', 'Progress events streamed', '2000'),
  },
  async run(ctx) {
    const { benchKernel } = await import('../kernel/bench.ts');
    const results = await benchKernel({
      hellos: intFlag(ctx, 'hellos', { min: 1 }),
      jobs: intFlag(ctx, 'jobs', { min: 1 }),
      events: intFlag(ctx, 'events', { min: 2 }),
    });
    for (const r of results) ctx.stdout.write(JSON.stringify(r) + '\n');
    ctx.stdout.write(JSON.stringify({ bench: 'kernel', transports: results }) + '\n');
  },
};
