import type { ServerResponse } from 'node:http';
import {
  requestPrompts,
  requestSampling,
  requestStops,
  type TextCompletionRequest,
} from './api.ts';
import { HttpError, sendJson, toHttpError } from './http.ts';
import type { ScoredCompletion, ScoringModel } from './logprobs.ts';

/**
 * Whether a completion request needs the scoring path: echo, logprobs, token-id prompts or
 * several prompts (the streaming text path serves one text prompt).
 */
export function needsScoring(body: TextCompletionRequest): boolean {
  const prompts = requestPrompts(body);
  return (
    Boolean(body.echo) ||
    (body.logprobs !== undefined && body.logprobs !== null) ||
    prompts.length > 1 ||
    typeof prompts[0] !== 'string'
  );
}

/** The legacy completions `logprobs` object of `tokens` (OpenAI's and vLLM's shape). */
export function logprobsObject(scored: ScoredCompletion, echo: boolean) {
  const tokens = echo ? scored.tokens : scored.tokens.slice(scored.promptTokens);
  // Offsets index the choice's `text`, which starts after the prompt when it is not echoed.
  const shift = echo ? 0 : scored.promptText.length;
  return {
    tokens: tokens.map((t) => t.token),
    token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: tokens.map((t) => t.top),
    text_offset: tokens.map((t) => Math.max(0, t.offset - shift)),
  };
}

/**
 * Answers a completion with echo and/or logprobs, one choice per prompt (non-streaming only).
 * Prompts are scored one after another: the server serves one request at a time anyway.
 */
export async function respondScored(
  model: Partial<ScoringModel>,
  res: ServerResponse,
  body: TextCompletionRequest,
  base: { id: string; created: number; model: string },
): Promise<void> {
  if (!model.scoreCompletion)
    throw new HttpError(
      400,
      'echo and logprobs are not supported by this model',
      undefined,
      'echo',
    );
  if (body.stream)
    throw new HttpError(
      400,
      'stream: streaming is not supported with echo, logprobs or several prompts',
      undefined,
      'stream',
    );
  const maxTokens = body.max_tokens ?? 16;
  if (maxTokens === 0 && !body.echo)
    throw new HttpError(400, 'max_tokens: 0 is allowed only with echo', undefined, 'max_tokens');
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const choices = [];
  let promptTokens = 0;
  let completionTokens = 0;
  const prompts = requestPrompts(body);
  for (const [index, prompt] of prompts.entries()) {
    let scored: ScoredCompletion;
    try {
      scored = await model.scoreCompletion({
        prompt,
        maxTokens,
        sampling: requestSampling(body),
        stop: requestStops(body),
        top: body.logprobs ?? 0,
        signal: controller.signal,
      });
    } catch (error) {
      // With several prompts the error names the one at fault, as a validation error would.
      throw toHttpError(error, prompts.length > 1 ? `prompt.${index}` : 'prompt');
    }
    promptTokens += scored.promptTokens;
    completionTokens += scored.tokens.length - scored.promptTokens;
    const wantLogprobs = body.logprobs !== undefined && body.logprobs !== null;
    choices.push({
      index,
      text: (body.echo ? scored.promptText : '') + scored.text,
      logprobs: wantLogprobs ? logprobsObject(scored, Boolean(body.echo)) : null,
      finish_reason: scored.finishReason,
    });
  }
  sendJson(res, 200, {
    ...base,
    object: 'text_completion',
    choices,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  });
}
