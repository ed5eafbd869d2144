import { throwIfCancelled, UsageError } from '../core/errors.ts';
import { RetryLoop, retryableStatus, retryAfterMs, type Attempt } from '../core/retry.ts';

/** How to reach an OpenAI-compatible server and how hard to push it. */
export interface EndpointOptions {
  /** Base URL of the API (`http://host:8000/v1`); a trailing `/completions` is dropped. */
  url: string;
  /** The model name the server serves (the requests' `model`). */
  servedModel: string;
  /** Sent as `Authorization: Bearer <key>`; never stored with results. */
  apiKey?: string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Retries of one request after 429, 5xx, a timeout or a network error (default 5). */
  maxRetries?: number;
  /** Most prompt plus completion tokens the whole run may spend (the servers' `usage`). */
  tokenBudget?: number;
  /** Milliseconds one attempt may take (default 300000). */
  timeoutMs?: number;
}

/** Test seams: the fetch and the wait between retries. */
export interface EndpointSeams {
  /** Default: global fetch. */
  fetch?: typeof fetch;
  /** Default: a timer an abort interrupts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The server refused or failed a request for good (the message names the endpoint). */
export class EndpointError extends Error {
  override name = 'EndpointError';
  constructor(
    message: string,
    /** The HTTP status, when there was a response. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The run spent its token budget. */
export class TokenBudgetError extends Error {
  override name = 'TokenBudgetError';
}

/** Tokens a client has spent, from the servers' `usage`. */
export interface EndpointUsage {
  /** Requests answered. */
  requests: number;
  /** Retries after failed attempts. */
  retries: number;
  /** Prompt tokens, as the servers' `usage` counts them. */
  promptTokens: number;
  /** Completion tokens, likewise. */
  completionTokens: number;
}

/** The base URL without trailing slashes or a `/completions` path (lm-eval's `base_url` has one). */
export function normalizeEndpoint(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--endpoint: '${url}' is not a URL (e.g. http://127.0.0.1:8000/v1)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`--endpoint: '${url}' must be an http or https URL`);
  if (parsed.username || parsed.password)
    throw new UsageError('--endpoint: put the key in --api-key or OPENAI_API_KEY, not the URL');
  const path = parsed.pathname.replace(/\/+$/, '').replace(/\/(chat\/)?completions$/, '');
  return `${parsed.origin}${path}${parsed.search}`;
}

/** The identity of a served model (`remote:URL#NAME`): the endpoint and the name, never the key. */
export function endpointModelKey(url: string, servedModel: string): string {
  return `remote:${url}#${servedModel}`;
}

/**
 * POSTs JSON to an OpenAI-compatible server through the shared {@link RetryLoop}: at most
 * `concurrency` requests in flight, retries with exponential backoff (0.5 s doubling to 10 s,
 * or the server's Retry-After) on 429, 5xx, timeouts and network errors, a token budget over
 * the responses' `usage`, and an abort that stops waiting, retrying and sending.
 */
export class EndpointClient {
  readonly url: string;
  private readonly loop: RetryLoop;
  private readonly spent: EndpointUsage = {
    requests: 0,
    retries: 0,
    promptTokens: 0,
    completionTokens: 0,
  };

  constructor(
    readonly options: EndpointOptions,
    private readonly seams: EndpointSeams = {},
  ) {
    this.url = normalizeEndpoint(options.url);
    this.loop = new RetryLoop({
      concurrency: options.concurrency ?? 4,
      maxRetries: options.maxRetries ?? 5,
      backoffMs: 500,
      maxBackoffMs: 10_000,
      sleep: seams.sleep,
    });
  }

  /** What the run has spent so far. */
  usage(): EndpointUsage {
    return { ...this.spent };
  }

  /** The parsed JSON answer of `POST {url}{path}`. */
  async post(path: string, body: object, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const where = `${this.url}${path}`;
    return this.loop.run(
      () => this.attempt(where, body, signal),
      (failure, attempts) =>
        new EndpointError(`${where}: failed after ${attempts} attempts: ${failure.why}`),
      signal,
      { onRetry: () => void this.spent.retries++ },
    );
  }

  private async attempt(
    where: string,
    body: object,
    signal?: AbortSignal,
  ): Promise<Attempt<Record<string, unknown>>> {
    this.checkBudget(true);
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 300_000);
    try {
      const res = await (this.seams.fetch ?? fetch)(where, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
        },
        body: JSON.stringify({ model: this.options.servedModel, ...body }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      const text = await res.text();
      if (res.ok) return { ok: true, value: this.account(where, text) };
      const message = serverMessage(text);
      if (res.status === 401 || res.status === 403)
        throw new EndpointError(
          `${where}: ${res.status} ${res.status === 401 ? 'unauthorized: the API key was refused' : 'forbidden'} (set --api-key or OPENAI_API_KEY): ${message}`,
          res.status,
        );
      if (!retryableStatus(res.status))
        throw new EndpointError(`${where}: ${res.status}: ${message}`, res.status);
      const waitMs = retryAfterMs(res.headers.get('retry-after'));
      return { ok: false, retry: true, why: `${res.status}: ${message}`, waitMs };
    } catch (error) {
      if (error instanceof EndpointError || error instanceof TokenBudgetError) throw error;
      throwIfCancelled(signal);
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const why = timeout.aborted
        ? 'timed out'
        : `network error (${(error as Error).message}${cause ? `: ${cause}` : ''}): is the server running?`;
      return { ok: false, retry: true, why };
    }
  }

  private account(where: string, text: string): Record<string, unknown> {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new EndpointError(`${where}: the response is not JSON: ${text.slice(0, 200)}`);
    }
    const usage = json.usage as { prompt_tokens?: number; completion_tokens?: number } | undefined;
    this.spent.requests++;
    this.spent.promptTokens += usage?.prompt_tokens ?? 0;
    this.spent.completionTokens += usage?.completion_tokens ?? 0;
    this.checkBudget(false);
    return json;
  }

  /** Past the budget nothing more is used; at it exactly, nothing more is sent. */
  private checkBudget(sending: boolean): void {
    const budget = this.options.tokenBudget;
    const used = this.spent.promptTokens + this.spent.completionTokens;
    if (budget !== undefined && (used > budget || (sending && used >= budget)))
      throw new TokenBudgetError(
        `token budget exceeded at ${this.url}: ${used} of ${budget} tokens spent (raise --token-budget or score fewer items with --limit)`,
      );
  }
}

/** The `error.message` of an OpenAI error body, else the start of the body. */
function serverMessage(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: { message?: string } | string };
    if (typeof json.error === 'string') return json.error;
    if (json.error?.message) return json.error.message;
  } catch {
    // Not JSON: the raw text says what it says.
  }
  return text.slice(0, 200) || '(empty body)';
}
