import { join } from 'node:path';
import { CancelledError } from '../../core/errors.ts';
import { canonicalJson } from '../../core/hash.ts';
import { finemedHome } from '../../core/home.ts';
import type { LlmSettings } from '../presets.ts';
import { RetryLoop, retryableStatus, retryAfterMs, type Attempt } from '../../core/retry.ts';
import { ResponseCache } from './cache.ts';

/** One turn of an OpenAI chat-completions conversation. */
export interface ChatMessage {
  /** Who speaks. */
  role: 'system' | 'user' | 'assistant';
  /** What is said. */
  content: string;
}

/** The parts of an OpenAI chat-completions request the synthesizer sets. */
export interface ChatRequest {
  /** The conversation. */
  messages: ChatMessage[];
  /** Sampling temperature (0 for judging and scoring). */
  temperature?: number;
  /** Longest reply in tokens. */
  max_tokens?: number;
  /** Sampling seed, where the server supports it (it also separates cache entries). */
  seed?: number;
}

/** Request accounting of a client. */
export interface ClientStats {
  /** HTTP requests sent (attempts, including retries). */
  requests: number;
  /** Requests that returned a usable response (each is paid once and cached). */
  successes: number;
  /** Answers served from the on-disk cache without a request. */
  cacheHits: number;
  /** Retries after a failed attempt. */
  retries: number;
  /** Calls that failed after all retries, or with a non-retryable status. */
  failures: number;
  /** Attempts that hit the per-request timeout. */
  timeouts: number;
  /** Calls refused because the request budget was spent. */
  overBudget: number;
  /** Failed attempts by HTTP status (or `network`, `timeout`, `bad-body`). */
  errors: Record<string, number>;
  /** Prompt tokens of this run's paid requests, from the responses' `usage`. */
  promptTokens: number;
  /** Completion tokens of this run's paid requests, from the responses' `usage`. */
  completionTokens: number;
}

/** The request budget is spent; cached answers still work. */
export class BudgetExhaustedError extends Error {
  override name = 'BudgetExhaustedError';
}

/** A call that failed for good. */
export class LlmRequestError extends Error {
  override name = 'LlmRequestError';
}

/** Test seams: a fetch, a sleep and a jitter source. */
export interface ClientSeams {
  /** The fetch implementation (default: global fetch). */
  fetch?: typeof fetch;
  /** Waits between retries (default: a timer that an abort interrupts). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Random numbers in [0, 1) for backoff jitter (default Math.random: timing only, never content). */
  random?: () => number;
}

/**
 * How long a request already sent may still answer after a cancel. The server works (and a
 * paid API bills) whether or not we listen, so its reply is worth keeping for the rerun; a
 * request still unanswered after this is dropped so that a cancel stays prompt.
 */
const DRAIN_MS = 10_000;

type Outcome = Attempt<unknown>;

/**
 * An OpenAI-compatible chat client built for paid batch work: at most `concurrency` requests
 * in flight; retries with exponential backoff and jitter on 429, 5xx, timeouts and network
 * errors (honouring Retry-After); a hard request budget; and an on-disk cache keyed by the
 * exact request (identical concurrent calls share one request), so nothing that succeeded is
 * ever sent again. A cancel sends nothing new but lets requests already sent answer (for a
 * while) into the cache, so a rerun resumes without paying for them twice.
 */
export class ChatClient {
  private readonly cache: ResponseCache;
  private readonly loop: RetryLoop;
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly sending = new Set<Promise<Outcome>>();
  private readonly counts = emptyStats();
  private readonly url: string;
  private readonly path: string;

  /** `onAnswer` hears the accounting after every answer, paid or cached (progress lines). */
  constructor(
    readonly settings: LlmSettings,
    private readonly seams: ClientSeams = {},
    private readonly onAnswer?: (stats: ClientStats) => void,
  ) {
    this.url = `${settings.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.path = new URL(this.url).pathname;
    this.cache = new ResponseCache(settings.cacheDir ?? join(finemedHome(), 'llm-cache'));
    this.loop = new RetryLoop({
      concurrency: settings.concurrency ?? 4,
      maxRetries: settings.maxRetries ?? 5,
      backoffMs: settings.backoffMs ?? 500,
      maxBackoffMs: 30_000,
      random: seams.random ?? Math.random,
      sleep: seams.sleep,
      cancelled: () => new CancelledError('synthesis cancelled'),
    });
  }

  /** Request accounting so far. */
  stats(): ClientStats {
    return { ...this.counts, errors: { ...this.counts.errors } };
  }

  /** The reply text of a chat completion, from the cache or the server. */
  async complete(request: ChatRequest, signal?: AbortSignal): Promise<string> {
    const body = canonicalJson({ model: this.settings.model, ...request });
    const key = ResponseCache.key(this.path, body);
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const call = this.resolve(key, body, signal)
      .catch(async (error: unknown) => {
        // The caller hears of a cancel only once every request already sent has answered into
        // the cache (or given up), so a rerun right after cannot send one of them again.
        if (error instanceof CancelledError) await this.quiet();
        throw error;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, call);
    return call;
  }

  private async resolve(key: string, body: string, signal?: AbortSignal): Promise<string> {
    const cached = await this.cache.get(key);
    if (cached !== undefined) {
      this.counts.cacheHits++;
      this.onAnswer?.(this.stats());
      return replyText(cached)!;
    }
    const answer = await this.loop.run(
      async () => {
        const budget = this.settings.maxRequests;
        if (budget !== undefined && this.counts.requests >= budget) {
          this.counts.overBudget++;
          throw new BudgetExhaustedError(`request budget of ${budget} spent`);
        }
        this.counts.requests++;
        return this.track(this.send(key, body, signal));
      },
      (failure, attempts) => {
        this.counts.failures++;
        return new LlmRequestError(
          `chat request failed (${failure.why}) after ${attempts} attempt(s)`,
        );
      },
      signal,
      {
        onFailure: ({ why }) => void (this.counts.errors[why] = (this.counts.errors[why] ?? 0) + 1),
        onRetry: () => void this.counts.retries++,
      },
    );
    this.onAnswer?.(this.stats());
    return replyText(answer)!;
  }

  /** One attempt; a usable answer is counted and cached before this settles. */
  private async send(key: string, body: string, signal?: AbortSignal): Promise<Outcome> {
    const outcome = await this.attempt(body, signal);
    if (outcome.ok) {
      this.counts.successes++;
      const usage = (outcome.value as { usage?: Record<string, unknown> }).usage;
      const tokens = (x: unknown): number =>
        typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 0;
      this.counts.promptTokens += tokens(usage?.prompt_tokens);
      this.counts.completionTokens += tokens(usage?.completion_tokens);
      await this.cache.put(key, { request: { path: this.path, body }, response: outcome.value });
    }
    return outcome;
  }

  private track(work: Promise<Outcome>): Promise<Outcome> {
    this.sending.add(work);
    const untrack = (): void => void this.sending.delete(work);
    work.then(untrack, untrack);
    return work;
  }

  /** Resolves once no request of this client is on the wire. */
  private async quiet(): Promise<void> {
    while (this.sending.size) await Promise.allSettled([...this.sending]);
  }

  private async attempt(body: string, signal?: AbortSignal): Promise<Outcome> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.settings.timeoutMs ?? 120_000);
    const drain = signal ? afterAbort(signal, DRAIN_MS) : undefined;
    const apiKey =
      this.settings.apiKey ?? process.env.FINEMED_LLM_API_KEY ?? process.env.OPENAI_API_KEY;
    try {
      const response = await (this.seams.fetch ?? fetch)(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
        },
        body,
        signal: drain ? AbortSignal.any([drain.signal, timeout.signal]) : timeout.signal,
      });
      const text = await response.text();
      if (retryableStatus(response.status)) {
        return {
          ok: false,
          retry: true,
          why: String(response.status),
          waitMs: retryAfterMs(response.headers.get('retry-after')),
        };
      }
      if (!response.ok) return { ok: false, retry: false, why: String(response.status) };
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return { ok: false, retry: true, why: 'bad-body' };
      }
      return replyText(parsed) === undefined
        ? { ok: false, retry: true, why: 'bad-body' }
        : { ok: true, value: parsed };
    } catch {
      if (drain?.signal.aborted) throw new CancelledError('synthesis cancelled');
      if (timeout.signal.aborted) {
        this.counts.timeouts++;
        return { ok: false, retry: true, why: 'timeout' };
      }
      return { ok: false, retry: true, why: 'network' };
    } finally {
      clearTimeout(timer);
      drain?.clear();
    }
  }
}

/** Accounting before any call. */
export function emptyStats(): ClientStats {
  return {
    requests: 0,
    successes: 0,
    cacheHits: 0,
    retries: 0,
    failures: 0,
    timeouts: 0,
    overBudget: 0,
    errors: {},
    promptTokens: 0,
    completionTokens: 0,
  };
}

/** An AbortSignal that fires `ms` after `signal` does. */
function afterAbort(signal: AbortSignal, ms: number): { signal: AbortSignal; clear(): void } {
  const later = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = (): void => {
    timer = setTimeout(() => later.abort(), ms);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    signal: later.signal,
    clear: () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

/** The assistant text of a chat-completions response body, if it has one. */
function replyText(body: unknown): string | undefined {
  const content = (body as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]
    ?.message?.content;
  return typeof content === 'string' ? content : undefined;
}
