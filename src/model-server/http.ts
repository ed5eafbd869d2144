import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { InputError } from '../core/errors.ts';
import { ContextLengthError, type CompletionEvent, type ServedModel } from './served-model.ts';
import { describeIssues, requestSampling, requestStops } from './api.ts';

const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** An error answered as OpenAI's JSON error body with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/**
 * The answer to a failed request. Bad input arrives as an InputError: a prompt too long for the
 * context is OpenAI's `context_length_exceeded`, any other (an empty prompt, a token outside the
 * vocabulary) a plain `invalid_request_error`; both on `param`, whose name starts the message.
 * Anything else, a RangeError included, is the server's fault: a 500.
 */
export function toHttpError(error: unknown, param: string | null): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof InputError) {
    const code = error instanceof ContextLengthError ? 'context_length_exceeded' : null;
    const message = param ? `${param}: ${error.reason}` : error.reason;
    return new HttpError(400, message, 'invalid_request_error', param, code);
  }
  return new HttpError(500, error instanceof Error ? error.message : String(error), 'server_error');
}

/** Token counts of a response. */
export interface Usage {
  /** Tokens in the prompt. */
  prompt_tokens: number;
  /** Tokens generated. */
  completion_tokens: number;
  /** Their sum. */
  total_tokens: number;
}

/** How one endpoint shapes its streamed chunks and its whole response. */
export interface ResponseFormat {
  /** A chunk carrying more text. */
  chunk(text: string): unknown;
  /** A chunk sent before any text (chat: the assistant role). */
  first?(): unknown;
  /** The chunk carrying the finish reason. */
  last(finish: string): unknown;
  /** The chunk carrying usage (when the client asked for it). */
  usageChunk(usage: Usage): unknown;
  /** The non-streaming response. */
  whole(text: string, finish: string, usage: Usage): unknown;
}

/** Streams (server-sent events) or returns one completion in the shapes `format` builds. */
export async function respond(
  model: ServedModel,
  res: ServerResponse,
  prompt: string,
  chat: boolean,
  maxTokens: number,
  body: Parameters<typeof requestSampling>[0],
  format: ResponseFormat,
): Promise<void> {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const request = {
    prompt,
    chat,
    maxTokens,
    sampling: requestSampling(body),
    stop: requestStops(body),
    signal: controller.signal,
  };
  let events: AsyncIterator<CompletionEvent>;
  let next: IteratorResult<CompletionEvent>;
  try {
    events = model.complete(request)[Symbol.asyncIterator]();
    // The first event is awaited before any header goes out, so a bad prompt still gets a 400.
    next = await events.next();
  } catch (error) {
    throw toHttpError(error, chat ? 'messages' : 'prompt');
  }
  let text = '';
  let done: Extract<CompletionEvent, { type: 'done' }> | undefined;
  const usage = () => ({
    prompt_tokens: done!.promptTokens,
    completion_tokens: done!.completionTokens,
    total_tokens: done!.promptTokens + done!.completionTokens,
  });
  if (!body.stream) {
    for (; !next.done; next = await events.next()) {
      if (next.value.type === 'text') text += next.value.text;
      else done = next.value;
    }
    if (!done) throw new Error('the model ended without a summary');
    sendJson(res, 200, format.whole(text, done.finishReason, usage()));
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const send = (value: unknown): void => {
    res.write(`data: ${JSON.stringify(value)}\n\n`);
  };
  if (format.first) send(format.first());
  for (; !next.done; next = await events.next()) {
    if (controller.signal.aborted) break;
    if (next.value.type === 'text') {
      if (next.value.text) send(format.chunk(next.value.text));
    } else {
      done = next.value;
    }
  }
  if (!done) await events.return?.();
  if (done) {
    send(format.last(done.finishReason));
    if (body.stream_options?.include_usage) send(format.usageChunk(usage()));
  }
  res.end('data: [DONE]\n\n');
}

/** Validates a request body against a schema; failures become a 400 naming the field. */
export function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const { message, param } = describeIssues(result.error);
    throw new HttpError(400, message, 'invalid_request_error', param);
  }
  return result.data;
}

/** The request body parsed as JSON: 413 past 8 MiB, 400 when it is not JSON. */
export async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, `request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `request body is not valid JSON (${(error as Error).message})`);
  }
}

/** Answers `value` as JSON; the body is never sniffed as anything else. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}
