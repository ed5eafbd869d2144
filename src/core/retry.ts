import { cancellation } from './errors.ts';

/**
 * The request loop both OpenAI-compatible clients (LLM synthesis and endpoint evaluation)
 * share: a concurrency gate held only while an attempt is on the wire, exponential backoff
 * (optionally jittered) or the server's Retry-After between attempts, and an abort that stops
 * waiting, retrying and sending.
 */

/** One attempt's result: a value, or why it failed and whether another attempt may help. */
export type Attempt<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      retry: boolean;
      /** A short cause (`429`, `timeout`, `network`...), counted and reported by the caller. */
      why: string;
      /** How long the server asked us to wait (Retry-After), in milliseconds. */
      waitMs?: number;
    };

/** A failed attempt. */
export type Failure = Extract<Attempt<unknown>, { ok: false }>;

/** Rate limits, timeouts, conflicts and server errors: the statuses another attempt may cure. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Seconds or an HTTP date, as milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Waits `ms`; an abort interrupts with `cancelled(signal)`. */
export function sleep(
  ms: number,
  signal?: AbortSignal,
  cancelled: (signal: AbortSignal) => Error = cancellation,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(cancelled(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** At most `limit` holders at once; waiters are served first come, first served. */
export class Semaphore {
  private active = 0;
  private readonly waiting: { signal?: AbortSignal; grant(): void; abort(): void }[] = [];
  // One abort listener per signal, not per waiter: hundreds of queued requests share a run's
  // signal, and a listener each would trip Node's MaxListenersExceededWarning.
  private readonly watched = new WeakSet<AbortSignal>();
  constructor(private readonly limit: number) {}

  /** Resolves with a slot; an abort while waiting gives up the place in line. */
  async acquire(signal?: AbortSignal, cancelled = cancellation): Promise<void> {
    if (signal?.aborted) throw cancelled(signal);
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ signal, grant: resolve, abort: () => reject(cancelled(signal!)) });
      if (signal && !this.watched.has(signal)) {
        this.watched.add(signal);
        signal.addEventListener('abort', () => this.dropWaitersOf(signal), { once: true });
      }
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next.grant();
    else this.active--;
  }

  private dropWaitersOf(signal: AbortSignal): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (this.waiting[i].signal !== signal) continue;
      const [waiter] = this.waiting.splice(i, 1);
      waiter.abort();
    }
  }
}

/** How a {@link RetryLoop} paces its attempts. */
export interface RetryPolicy {
  /** Attempts on the wire at once. */
  concurrency: number;
  /** Attempts after the first one fails. */
  maxRetries: number;
  /** The first backoff, doubled after each further failure. */
  backoffMs: number;
  /** The longest computed backoff. */
  maxBackoffMs: number;
  /** The longest wait a server's Retry-After is granted (default a minute). */
  maxWaitMs?: number;
  /** Numbers in [0, 1) that scale each backoff into [½, 1] of itself; without, no jitter. */
  random?: () => number;
  /** Default: a timer an abort interrupts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The error an abort raises (default: the signal's reason, else a CancelledError). */
  cancelled?: (signal: AbortSignal) => Error;
}

/** What a caller hears of a run's failed attempts, for its accounting. */
export interface RetryHooks {
  /** Every failed attempt, retried or not. */
  onFailure?: (failure: Failure) => void;
  /** Each retry, before its wait. */
  onRetry?: () => void;
}

/** Runs attempts under one {@link RetryPolicy}, shared by every call of a client. */
export class RetryLoop {
  private readonly gate: Semaphore;
  private readonly cancelled: (signal: AbortSignal) => Error;

  constructor(private readonly policy: RetryPolicy) {
    this.gate = new Semaphore(Math.max(1, policy.concurrency));
    this.cancelled = policy.cancelled ?? cancellation;
  }

  /**
   * The value of the first attempt that succeeds. An attempt that throws ends the run with
   * that error; one that fails for good ends it with `giveUp(failure, attemptsMade)`.
   */
  async run<T>(
    attempt: () => Promise<Attempt<T>>,
    giveUp: (failure: Failure, attempts: number) => Error,
    signal?: AbortSignal,
    hooks: RetryHooks = {},
  ): Promise<T> {
    const { maxRetries, backoffMs, maxBackoffMs, maxWaitMs = 60_000, random } = this.policy;
    for (let n = 0; ; n++) {
      await this.gate.acquire(signal, this.cancelled);
      let outcome: Attempt<T>;
      try {
        if (signal?.aborted) throw this.cancelled(signal);
        outcome = await attempt();
      } finally {
        this.gate.release();
      }
      if (outcome.ok) return outcome.value;
      hooks.onFailure?.(outcome);
      if (!outcome.retry || n >= maxRetries) throw giveUp(outcome, n + 1);
      hooks.onRetry?.();
      const backoff = Math.min(maxBackoffMs, backoffMs * 2 ** n);
      const jittered = random ? backoff * (0.5 + 0.5 * random()) : backoff;
      const wait = Math.min(maxWaitMs, outcome.waitMs ?? jittered);
      await (this.policy.sleep ?? ((ms, s) => sleep(ms, s, this.cancelled)))(wait, signal);
    }
  }
}
