// The origin of a run (notebook and cell) travels with the request and comes back in status(),
// so the jobs panel can name who started each job.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../core/artifacts.ts';
import { KernelClient } from './client.ts';
import { testJobs } from './fixtures/test-jobs.ts';
import { Kernel } from './kernel.ts';
import { loopback } from './loopback.ts';
import { PROTOCOL_VERSION, type JobEvent, type Reply } from './protocol.ts';
import { inProcessPair } from './transport.ts';
import { serveKernel } from './serve.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-origin-'));
const kernel = new Kernel({ store: new ArtifactStore(join(dir, 'store')), jobs: testJobs });
const served = await loopback(kernel);

afterAll(async () => {
  await kernel.close();
  await served.close();
});

async function started(events: JobEvent[]): Promise<void> {
  while (!events.some((e) => e.type === 'started')) await new Promise((r) => setTimeout(r, 5));
}

describe('run origins', () => {
  it('status() lists the origin of each watcher of a shared execution, and none for one that gave none', async () => {
    const release = join(dir, 'go-kernel');
    const events: JobEvent[] = [];
    const first = kernel.run(
      'test.busy',
      { release },
      { origin: { notebook: 'finemed-o1.html', cell: 23 }, onEvent: (e) => events.push(e) },
    );
    await started(events);
    const second = kernel.run('test.busy', { release }, { origin: { notebook: 'dpo.html' } });
    const third = kernel.run('test.busy', { release });
    await expect
      .poll(() => kernel.status())
      .toMatchObject([
        {
          job: 'test.busy',
          subscribers: 3,
          origins: [{ notebook: 'finemed-o1.html', cell: 23 }, { notebook: 'dpo.html' }],
        },
      ]);
    second.detach();
    await expect
      .poll(() => kernel.status()[0]?.origins)
      .toEqual([{ notebook: 'finemed-o1.html', cell: 23 }]);
    writeFileSync(release, '');
    await Promise.all([first.result, third.result]);
    expect(kernel.status()).toEqual([]);
  });

  it.each(served.transports)(
    'KernelClient.run sends the origin over %s',
    async (_name, connect) => {
      const client = new KernelClient(connect());
      const release = join(dir, `go-${_name}`);
      const events: JobEvent[] = [];
      const run = client.run(
        'test.busy',
        { release },
        { origin: { notebook: 'what-ttt-does.html', cell: 4 }, onEvent: (e) => events.push(e) },
      );
      await started(events);
      const [status] = await client.status();
      expect(status?.origins).toEqual([{ notebook: 'what-ttt-does.html', cell: 4 }]);
      writeFileSync(release, '');
      await run.result;
      client.close();
    },
  );

  it('a malformed origin is refused naming the field', async () => {
    const [client, server] = inProcessPair();
    serveKernel(kernel, server);
    const replies: Reply[] = [];
    client.onMessage((m) => replies.push(m as Reply));
    client.send({
      v: PROTOCOL_VERSION,
      id: 'r1',
      type: 'run',
      job: 'test.sum',
      params: { values: [1] },
      origin: { notebook: 'x.html', cell: -1 },
    });
    await expect.poll(() => replies.length).toBe(1);
    expect(replies[0]).toMatchObject({ type: 'error', id: 'r1' });
    expect(JSON.stringify(replies[0])).toMatch(/origin/);
    client.close();
  });
});
