import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { UsageError } from '../core/errors.ts';
import { HttpGuard, isLoopbackHost, newToken } from '../core/http-guard.ts';
import { listen } from '../core/listen.ts';
import type { ServedModel } from './served-model.ts';
import type { ScoringModel } from './logprobs.ts';
import { chatRequestSchema, completionRequestSchema, requestPrompts } from './api.ts';
import { needsScoring, respondScored } from './echo.ts';
import { HttpError, parse, readBody, respond, sendJson, toHttpError } from './http.ts';

export type { CompletionEvent, CompletionRequest, ServedModel } from './served-model.ts';
export type { ScoringModel } from './logprobs.ts';
export { servedModel } from './loaded-model.ts';

/** Where and how the server listens. */
export interface ModelServerOptions {
  /** Interface to bind (default 127.0.0.1: only this machine can connect). */
  host?: string;
  /** Port (default 8000; 0 picks a free one). */
  port?: number;
  /**
   * The token every request must carry as `Authorization: Bearer <token>`: a random one when
   * absent; null asks for none, which only a loopback bind allows.
   */
  token?: string | null;
  /** Receives one line per request (method, path, status, tokens). */
  log?: (line: string) => void;
}

/** A listening server. */
export interface RunningServer {
  /** Base URL of the API, e.g. `http://127.0.0.1:8000/v1`. */
  url: string;
  /** The bound port. */
  port: number;
  /** The token clients send as their API key, or null when none is asked for. */
  token: string | null;
  /** Stops accepting requests and closes open connections. */
  close(): Promise<void>;
}

/** Refuses to serve a non-loopback address without a token: anyone on the network could use it. */
export function assertServable(host: string, token: string | null): void {
  if (token === null && !isLoopbackHost(host))
    throw new UsageError(
      `refusing to serve on non-loopback address ${host} without a token (--no-token is for loopback addresses only)`,
    );
}

/**
 * An OpenAI-compatible HTTP server over one model: `GET /v1/models`,
 * `POST /v1/chat/completions` and `POST /v1/completions`, streaming by server-sent events.
 * A model that can also score ({@link ScoringModel}) answers `echo` and `logprobs` on
 * completions, token-id prompts and several prompts per request, as vLLM does.
 * Requests are served one at a time (one model, one compute queue). Every request must carry
 * the token and, on a loopback bind, name a loopback host; pages from other origins are refused.
 */
export async function startModelServer(
  model: ServedModel & Partial<ScoringModel>,
  options: ModelServerOptions = {},
): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token === undefined ? newToken() : options.token;
  assertServable(host, token);
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(job: () => Promise<T>): Promise<T> => {
    const run = queue.then(job, job);
    queue = run.catch(() => undefined);
    return run;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e = toHttpError(error, null);
      if (!res.headersSent)
        sendJson(res, e.status, {
          error: { message: e.message, type: e.type, param: e.param, code: e.code },
        });
      else res.end();
      options.log?.(`${req.method} ${req.url} ${e.status} ${e.message}`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refusal = guard.check(req);
    if (refusal?.status === 401)
      throw new HttpError(
        401,
        `${refusal.reason}: send the server's token as the API key (Authorization: Bearer <token>)`,
        'invalid_request_error',
        null,
        'invalid_api_key',
      );
    if (refusal)
      throw new HttpError(403, refusal.reason, 'invalid_request_error', null, 'forbidden');
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
    const routes: Record<string, [string, () => Promise<void>]> = {
      '/v1/models': [
        'GET',
        async () => sendJson(res, 200, { object: 'list', data: [modelCard(model)] }),
      ],
      '/v1/chat/completions': ['POST', () => serial(() => chat(req, res))],
      '/v1/completions': ['POST', () => serial(() => completion(req, res))],
    };
    const route = routes[path];
    if (!route)
      throw new HttpError(
        404,
        `unknown route ${path} (see GET /v1/models)`,
        'invalid_request_error',
        null,
        'not_found',
      );
    if (req.method !== route[0]) throw new HttpError(405, `${path} accepts ${route[0]} only`);
    await route[1]();
    options.log?.(`${req.method} ${path} ${res.statusCode}`);
  }

  async function chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parse(chatRequestSchema, await readBody(req));
    checkModel(body.model);
    const prompt = model.renderChat(
      body.messages.map((m) => ({
        role: m.role === 'developer' ? 'system' : m.role,
        content: m.content ?? '',
      })),
    );
    const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? 256;
    const base = {
      id: `chatcmpl-${randomBytes(12).toString('hex')}`,
      created: now(),
      model: model.id,
    };
    await respond(model, res, prompt, true, maxTokens, body, {
      chunk: (text) => ({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }],
      }),
      first: () => ({
        ...base,
        object: 'chat.completion.chunk',
        choices: [
          {
            index: 0,
            delta: { role: 'assistant', content: '' },
            logprobs: null,
            finish_reason: null,
          },
        ],
      }),
      last: (finish) => ({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finish }],
      }),
      usageChunk: (usage) => ({ ...base, object: 'chat.completion.chunk', choices: [], usage }),
      whole: (text, finish, usage) => ({
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null },
            logprobs: null,
            finish_reason: finish,
          },
        ],
        usage,
      }),
    });
  }

  async function completion(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parse(completionRequestSchema, await readBody(req));
    checkModel(body.model);
    const base = { id: `cmpl-${randomBytes(12).toString('hex')}`, created: now(), model: model.id };
    if (needsScoring(body)) return respondScored(model, res, body, base);
    const choice = (text: string, finish: string | null) => ({
      index: 0,
      text,
      logprobs: null,
      finish_reason: finish,
    });
    if (body.max_tokens === 0)
      throw new HttpError(400, 'max_tokens: 0 is allowed only with echo', undefined, 'max_tokens');
    await respond(
      model,
      res,
      requestPrompts(body)[0] as string,
      false,
      body.max_tokens ?? 16,
      body,
      {
        chunk: (text) => ({ ...base, object: 'text_completion', choices: [choice(text, null)] }),
        last: (finish) => ({ ...base, object: 'text_completion', choices: [choice('', finish)] }),
        usageChunk: (usage) => ({ ...base, object: 'text_completion', choices: [], usage }),
        whole: (text, finish, usage) => ({
          ...base,
          object: 'text_completion',
          choices: [choice(text, finish)],
          usage,
        }),
      },
    );
  }

  function checkModel(name: string): void {
    if (name !== model.id) {
      throw new HttpError(
        404,
        `the model '${name}' does not exist; this server serves '${model.id}'`,
        'invalid_request_error',
        'model',
        'model_not_found',
      );
    }
  }

  const { port, urlHost } = await listen(server, host, options.port ?? 8000);
  // Made once the port is known; no request is handled before `listen` resolves.
  const guard = new HttpGuard(token, port, isLoopbackHost(host));
  return {
    url: `http://${urlHost}:${port}/v1`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function modelCard(model: ServedModel): unknown {
  return { id: model.id, object: 'model', created: 0, owned_by: 'finemed' };
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}
