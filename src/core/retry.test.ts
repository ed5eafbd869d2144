import { describe, expect, it } from 'vitest';
import { CancelledError } from './errors.ts';
import { RetryLoop, retryableStatus, retryAfterMs, Semaphore, type Attempt } from './retry.ts';

const fail = (why: string, waitMs?: number): Attempt<never> => ({
  ok: false,
  retry: true,
  why,
  waitMs,
});

describe('RetryLoop', () => {
  it('backs off exponentially up to the cap, honours Retry-After, then returns the value', async () => {
    const waits: number[] = [];
    const loop = new RetryLoop({
      concurrency: 1,
      maxRetries: 5,
      backoffMs: 100,
      maxBackoffMs: 300,
      sleep: async (ms) => void waits.push(ms),
    });
    const script = [
      fail('500'),
      fail('500'),
      fail('429', 90_000),
      fail('500'),
      { ok: true as const, value: 7 },
    ];
    const retried: string[] = [];
    const value = await loop.run(
      async () => script.shift()!,
      () => new Error('gave up'),
      undefined,
      { onFailure: (f) => retried.push(f.why) },
    );
    expect(value).toBe(7);
    // 100, 200, then a server's 90 s capped at a minute, then 800 capped at 300.
    expect(waits).toEqual([100, 200, 60_000, 300]);
    expect(retried).toEqual(['500', '500', '429', '500']);
  });

  it('jitters each backoff into [1/2, 1] of itself', async () => {
    const waits: number[] = [];
    const loop = new RetryLoop({
      concurrency: 1,
      maxRetries: 2,
      backoffMs: 100,
      maxBackoffMs: 10_000,
      random: () => 0,
      sleep: async (ms) => void waits.push(ms),
    });
    const script = [fail('x'), fail('x'), { ok: true as const, value: 1 }];
    await loop.run(
      async () => script.shift()!,
      () => new Error('no'),
    );
    expect(waits).toEqual([50, 100]);
  });

  it('gives up with the caller error after maxRetries, and at once on a final failure', async () => {
    const loop = new RetryLoop({ concurrency: 1, maxRetries: 2, backoffMs: 1, maxBackoffMs: 1 });
    let calls = 0;
    await expect(
      loop.run(
        async () => (calls++, fail('503')),
        (f, n) => new Error(`${f.why} after ${n}`),
      ),
    ).rejects.toThrow('503 after 3');
    expect(calls).toBe(3);
    await expect(
      loop.run(
        async () => ({ ok: false, retry: false, why: '400' }),
        (f, n) => new Error(`${f.why} after ${n}`),
      ),
    ).rejects.toThrow('400 after 1');
  });

  it('holds at most `concurrency` attempts on the wire, not while waiting to retry', async () => {
    const loop = new RetryLoop({
      concurrency: 2,
      maxRetries: 1,
      backoffMs: 5,
      maxBackoffMs: 5,
    });
    let onWire = 0;
    let most = 0;
    const tries = new Map<number, number>();
    const job = (id: number) =>
      loop.run(
        async () => {
          most = Math.max(most, ++onWire);
          await new Promise((r) => setTimeout(r, 5));
          onWire--;
          const n = (tries.get(id) ?? 0) + 1;
          tries.set(id, n);
          return n === 1 ? fail('busy') : { ok: true as const, value: id };
        },
        () => new Error('no'),
      );
    expect(await Promise.all([1, 2, 3, 4, 5].map(job))).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });

  it('an abort stops the wait between attempts with the policy error', async () => {
    const controller = new AbortController();
    const loop = new RetryLoop({
      concurrency: 1,
      maxRetries: 3,
      backoffMs: 60_000,
      maxBackoffMs: 60_000,
      cancelled: () => new CancelledError('stopped'),
    });
    let calls = 0;
    const run = loop.run(
      async () => {
        calls++;
        setTimeout(() => controller.abort(), 0);
        return fail('503');
      },
      () => new Error('no'),
      controller.signal,
    );
    await expect(run).rejects.toThrow('stopped');
    expect(calls).toBe(1);
  });
});

describe('Semaphore', () => {
  it('serves waiters in order and lets an aborted waiter leave the line', async () => {
    const gate = new Semaphore(1);
    await gate.acquire();
    const order: string[] = [];
    const controller = new AbortController();
    const a = gate.acquire().then(() => order.push('a'));
    const b = gate.acquire(controller.signal).then(
      () => order.push('b'),
      (e: Error) => order.push(`b: ${e.message}`),
    );
    const c = gate.acquire().then(() => order.push('c'));
    controller.abort(new Error('gone'));
    await b;
    gate.release();
    await a;
    gate.release();
    await c;
    expect(order).toEqual(['b: gone', 'a', 'c']);
  });

  it('keeps one abort listener per signal however many wait on it', async () => {
    const gate = new Semaphore(1);
    await gate.acquire();
    const controller = new AbortController();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    const waiters = Array.from({ length: 50 }, () =>
      gate.acquire(controller.signal).then(
        () => 'granted',
        () => 'left',
      ),
    );
    controller.abort();
    expect(await Promise.all(waiters)).toEqual(Array(50).fill('left'));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});

describe('retryAfterMs(header) and retryableStatus(status)', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('0.5')).toBe(500);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
    const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
    expect(retryAfterMs(inTwoMinutes)).toBeGreaterThan(100_000);
  });

  it('retries rate limits, timeouts, conflicts and server errors only', () => {
    expect([408, 409, 429, 500, 503].every(retryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 422].some(retryableStatus)).toBe(false);
  });
});
