import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../core/artifacts.ts';
import { CancelledError, InputError } from '../core/errors.ts';
import { KernelClient } from './client.ts';
import { testJobs } from './fixtures/test-jobs.ts';
import { Kernel } from './kernel.ts';
import { loopback } from './loopback.ts';
import { PROTOCOL_VERSION, type JobEvent } from './protocol.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-transport-'));
writeFileSync(join(dir, 'notes.txt'), 'ward round');
const kernel = new Kernel({
  store: new ArtifactStore(join(dir, 'store')),
  jobs: testJobs,
  baseDir: dir,
});
const served = await loopback(kernel);

afterAll(async () => {
  await kernel.close();
  await served.close();
});

describe.each(served.transports)('the kernel protocol over %s', (_name, connect) => {
  it('hello() lists the job types', async () => {
    const client = new KernelClient(connect());
    const info = await client.hello();
    expect(info.protocol).toBe(PROTOCOL_VERSION);
    expect(info.jobs.map((j) => j.name)).toContain('test.steps');
    client.close();
  });

  it('run() streams progress then the result; plan() then says cached', async () => {
    const client = new KernelClient(connect());
    const params = { steps: 3, seed: Math.floor(Math.random() * 1e9) };
    const plan = await client.plan('test.steps', params);
    expect(plan.cached).toBe(false);
    const events: JobEvent[] = [];
    const result = await client.run('test.steps', params, { onEvent: (e) => events.push(e) })
      .result;
    // A job cancelled by an earlier test may still hold the heavy slot for a moment.
    const steps = events.filter((e) => e.type !== 'queued').map((e) => e.type);
    expect(steps).toEqual(['started', 'progress', 'progress', 'progress']);
    expect(result.artifact).toEqual(plan.artifact);
    expect(result.summary).toMatchObject({ steps: 3 });
    expect((await client.plan('test.steps', params)).cached).toBe(true);
    expect((await client.artifact(result.artifact))?.summary).toEqual(result.summary);
    client.close();
  });

  it('errors keep their class and location across the wire', async () => {
    const client = new KernelClient(connect());
    const failed = client.run('test.fail', { file: 'x.jsonl' }).result;
    await expect(failed).rejects.toBeInstanceOf(InputError);
    await expect(failed).rejects.toMatchObject({ file: 'x.jsonl', line: 3, field: 'answer' });
    await expect(client.plan('test.sum', { values: 'no' })).rejects.toMatchObject({
      field: 'params.values',
    });
    client.close();
  });

  it('cancel(true) stops a running job, which fails with CancelledError', async () => {
    const client = new KernelClient(connect());
    const events: JobEvent[] = [];
    const params = { steps: 1000, delayMs: 20, seed: Math.floor(Math.random() * 1e9) };
    const run = client.run('test.steps', params, { onEvent: (e) => events.push(e) });
    while (!events.some((e) => e.type === 'progress')) await new Promise((r) => setTimeout(r, 5));
    expect(await run.cancel(true)).toBe(true);
    await expect(run.result).rejects.toBeInstanceOf(CancelledError);
    client.close();
  });

  it('file(path) reads relative to the kernel folder, with a hash', async () => {
    const client = new KernelClient(connect());
    const file = await client.file('notes.txt');
    expect(file).toMatchObject({ text: 'ward round', path: join(dir, 'notes.txt'), bytes: 10 });
    client.close();
  });

  it('a malformed request or another protocol version is answered with an error', async () => {
    const transport = connect();
    const replies: unknown[] = [];
    transport.onMessage((m) => replies.push(m));
    transport.send({ v: PROTOCOL_VERSION, type: 'run', id: 'r1' });
    transport.send({ v: 99, type: 'hello', id: 'r2' });
    while (replies.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(replies).toEqual([
      expect.objectContaining({ type: 'error', id: 'r1' }),
      expect.objectContaining({
        type: 'error',
        id: 'r2',
        error: expect.objectContaining({ message: expect.stringContaining('version 99') }),
      }),
    ]);
    transport.close();
  });
});
