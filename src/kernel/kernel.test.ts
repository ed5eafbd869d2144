import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../core/artifacts.ts';
import { CancelledError, InputError } from '../core/errors.ts';
import { testJobs } from './fixtures/test-jobs.ts';
import { Kernel, type KernelOptions } from './kernel.ts';
import type { JobEvent } from './protocol.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-kernel-'));
const kernels: Kernel[] = [];

function kernel(options: KernelOptions = {}): Kernel {
  const k = new Kernel({ store: new ArtifactStore(scratch()), jobs: testJobs, ...options });
  kernels.push(k);
  return k;
}

/** Resolves when `events` (filled by a job's onEvent) holds an event of `type`. */
async function until(events: JobEvent[], type: JobEvent['type']): Promise<void> {
  while (!events.some((e) => e.type === type)) await new Promise((r) => setTimeout(r, 5));
}

afterEach(async () => {
  await Promise.all(kernels.splice(0).map((k) => k.close()));
});

describe('Kernel', () => {
  it('run(job, params) runs the job in a worker thread and stores its artifact', async () => {
    const k = kernel();
    const result = await k.run('test.sum', { values: [1, 2, 3] }).result;
    expect(result.summary).toMatchObject({ sum: 6 });
    expect((result.summary as { threadId: number }).threadId).not.toBe(0);
    expect(result.reused).toBe(false);
    expect(result.files.map((f) => f.name)).toEqual(['sum.json']);
    const meta = await k.artifact(result.artifact);
    expect(meta?.summary).toEqual(result.summary);
  });

  it('run(job, params) reuses a finished artifact without running again', async () => {
    const k = kernel();
    const first = await k.run('test.sum', { values: [4, 5] }).result;
    const events: JobEvent[] = [];
    const second = await k.run('test.sum', { values: [4, 5] }, { onEvent: (e) => events.push(e) })
      .result;
    expect(second.reused).toBe(true);
    expect(second.artifact).toEqual(first.artifact);
    expect(events).toEqual([]);
  });

  it('plan(job, params) gives the key and cost before running, and cached afterwards', async () => {
    const k = kernel();
    const plan = await k.plan('test.steps', { steps: 2, seconds: 42 });
    expect(plan.cached).toBe(false);
    expect(plan.estimate.seconds).toBe(42);
    const result = await k.run('test.steps', { steps: 2, seconds: 42 }).result;
    expect(result.artifact).toEqual(plan.artifact);
    const again = await k.plan('test.steps', { steps: 2, seconds: 42 });
    expect(again.cached).toBe(true);
    expect(again.estimate.seconds).toBe(0);
  });

  it('run(job, params) streams progress events in order', async () => {
    const k = kernel();
    const events: JobEvent[] = [];
    await k.run('test.steps', { steps: 4 }, { onEvent: (e) => events.push(e) }).result;
    expect(events[0]).toEqual({ type: 'started' });
    const steps = events.flatMap((e) => (e.type === 'progress' ? [e.event.step] : []));
    expect(steps).toEqual([1, 2, 3, 4]);
  });

  it('keeps the main thread responsive while a job busy-loops in its worker', async () => {
    const k = kernel();
    const release = join(scratch(), 'go');
    const events: JobEvent[] = [];
    const run = k.run('test.busy', { release }, { onEvent: (e) => events.push(e) });
    await until(events, 'started');
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (++ticks === 5) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
    // The job can only finish after the release file exists, so it is still spinning here.
    expect(k.status()).toMatchObject([{ job: 'test.busy', state: 'running' }]);
    writeFileSync(release, '');
    expect((await run.result).summary).toMatchObject({ spins: expect.any(Number) });
  });

  it('detach(true) cancels a cooperative job, which stops with CancelledError', async () => {
    const k = kernel();
    const events: JobEvent[] = [];
    const run = k.run(
      'test.steps',
      { steps: 1000, delayMs: 20 },
      { onEvent: (e) => events.push(e) },
    );
    await until(events, 'progress');
    const status = k.status()[0];
    expect(k.cancel(status.id)).toBe(true);
    await expect(run.result).rejects.toBeInstanceOf(CancelledError);
    await expect(run.result).rejects.toThrow('steps cancelled');
    expect(await k.store.list()).toEqual([]);
  });

  it('terminates the worker of a job that does not stop within the grace period', async () => {
    const k = kernel({ cancelGraceMs: 100 });
    const events: JobEvent[] = [];
    const run = k.run(
      'test.busy',
      { release: join(scratch(), 'never') },
      {
        onEvent: (e) => events.push(e),
      },
    );
    await until(events, 'started');
    const status = k.status()[0];
    k.cancel(status.id);
    await expect(run.result).rejects.toBeInstanceOf(CancelledError);
    await k.close();
    expect(k.status()).toEqual([]);
  });

  it('detach(true) stops the job for every watcher at once', async () => {
    const k = kernel({ cancelGraceMs: 100 });
    const events: JobEvent[] = [];
    const release = join(scratch(), 'never');
    const run = k.run('test.busy', { release }, { onEvent: (e) => events.push(e) });
    const other = k.run('test.busy', { release });
    await until(events, 'started');
    run.detach(true);
    await expect(other.result).rejects.toThrow('worker terminated');
    expect(k.status()).toEqual([]);
  });

  it('runs heavy jobs one at a time and light jobs alongside them', async () => {
    const k = kernel();
    const dir = scratch();
    const eventsA: JobEvent[] = [];
    const eventsB: JobEvent[] = [];
    const a = k.run('test.busy', { release: join(dir, 'a') }, { onEvent: (e) => eventsA.push(e) });
    await until(eventsA, 'started');
    const b = k.run('test.busy', { release: join(dir, 'b') }, { onEvent: (e) => eventsB.push(e) });
    await until(eventsB, 'queued');
    expect(eventsB).toEqual([{ type: 'queued', position: 0 }]);
    const light = await k.run('test.sum', { values: [1] }).result;
    expect(light.summary).toMatchObject({ sum: 1 });
    expect(k.status().map((s) => s.state)).toEqual(['running', 'queued']);
    writeFileSync(join(dir, 'a'), '');
    await a.result;
    await until(eventsB, 'started');
    writeFileSync(join(dir, 'b'), '');
    await b.result;
  });

  it('shares one execution among requests for the same artifact', async () => {
    const k = kernel();
    const release = join(scratch(), 'go');
    const events: JobEvent[] = [];
    const first = k.run('test.busy', { release }, { onEvent: (e) => events.push(e) });
    await until(events, 'started');
    const second = k.run('test.busy', { release });
    await new Promise((r) => setTimeout(r, 20));
    expect(k.status()).toMatchObject([{ subscribers: 2 }]);
    writeFileSync(release, '');
    const [r1, r2] = await Promise.all([first.result, second.result]);
    expect(r2.artifact).toEqual(r1.artifact);
  });

  it('a job nobody watches any more stops after the detach grace period', async () => {
    const k = kernel({ detachGraceMs: 50 });
    const events: JobEvent[] = [];
    const run = k.run(
      'test.steps',
      { steps: 1000, delayMs: 10 },
      { onEvent: (e) => events.push(e) },
    );
    await until(events, 'progress');
    run.detach();
    await expect(run.result).rejects.toBeInstanceOf(CancelledError);
    while (k.status().length > 0) await new Promise((r) => setTimeout(r, 10));
    expect(await k.store.list()).toEqual([]);
  });

  it('keeps the work folder of a cancelled job so a re-run resumes, and removes it once done', async () => {
    const k = kernel();
    const events: JobEvent[] = [];
    const params = { steps: 400, delayMs: 5 };
    const first = k.run('test.resume', params, { onEvent: (e) => events.push(e) });
    while (events.filter((e) => e.type === 'progress').length < 3) {
      await new Promise((r) => setTimeout(r, 5));
    }
    first.detach(true);
    await expect(first.result).rejects.toBeInstanceOf(CancelledError);
    while (k.status().length > 0) await new Promise((r) => setTimeout(r, 5));
    const second = await k.run('test.resume', params).result;
    expect((second.summary as { resumedAt: number }).resumedAt).toBeGreaterThanOrEqual(3);
    expect(existsSync(join(k.store.root, 'work'))).toBe(true);
    expect(readdirSync(join(k.store.root, 'work'))).toEqual([]);
  });

  it('rejects bad parameters and unknown jobs with an InputError naming the field', async () => {
    const k = kernel();
    const bad = k.run('test.sum', { values: ['x'] }).result;
    await expect(bad).rejects.toBeInstanceOf(InputError);
    await expect(bad).rejects.toMatchObject({ field: 'params.values.0' });
    await expect(k.plan('nope', {})).rejects.toThrow("unknown job 'nope'");
    const misspelt = k.plan('test.sum', { values: [1], valeus: [2] });
    await expect(misspelt).rejects.toMatchObject({ field: 'params' });
    await expect(misspelt).rejects.toThrow('valeus');
  });

  it('passes a job failure through with its class and location', async () => {
    const k = kernel();
    const failed = k.run('test.fail', { file: 'medqa.jsonl' }).result;
    await expect(failed).rejects.toBeInstanceOf(InputError);
    await expect(failed).rejects.toMatchObject({ file: 'medqa.jsonl', line: 3, field: 'answer' });
  });

  it('readFile(path, base) returns the text with its hash', async () => {
    const dir = scratch();
    const k = kernel({ baseDir: dir });
    writeFileSync(join(dir, 'a.txt'), 'hello');
    const file = await k.readFile('a.txt', dir);
    expect(file).toMatchObject({ text: 'hello', bytes: 5, path: join(dir, 'a.txt') });
    expect(file.sha256).toMatch(/^2cf24dba/);
    await expect(k.readFile('missing.txt', dir)).rejects.toBeInstanceOf(InputError);
  });

  it('readFile(path, base, artifact) reads a file inside a finished artifact, and nothing outside it', async () => {
    const k = kernel();
    const { artifact } = await k.run('test.sum', { values: [2, 3] }).result;
    const file = await k.readFile('sum.json', undefined, artifact);
    expect(JSON.parse(file.text)).toMatchObject({ sum: 5 });
    expect(file.path.endsWith(join('artifacts', artifact.kind, artifact.key, 'sum.json'))).toBe(
      true,
    );
    for (const outside of ['../../x', '/etc/hostname', '.'])
      await expect(k.readFile(outside, undefined, artifact)).rejects.toMatchObject({
        field: 'path',
      });
  });
});
