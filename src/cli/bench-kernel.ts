import { intFlag, type Command } from './command.ts';

/** `finemed bench kernel`: the kernel's own overheads, per transport. */
export const benchKernelCommand: Command = {
  name: 'bench kernel',
  summary: 'Measure kernel overheads: request round trip, job start in a worker, progress rate',
  details:
    'Runs a job that does nothing but report progress, over the in-process, MessageChannel and\n' +
    'WebSocket transports. Prints one JSON object per transport, then a summary object.',
  flags: {
    hellos: { type: 'string', value: 'N', description: 'Round trips timed', default: '200' },
    jobs: { type: 'string', value: 'N', description: 'Empty jobs timed', default: '5' },
    events: {
      type: 'string',
      value: 'N',
      description: 'Progress events streamed',
      default: '2000',
    },
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
