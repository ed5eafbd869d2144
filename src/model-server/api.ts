import { z } from 'zod';
import type { SamplingOptions } from '../model/sampler.ts';

/** Most prompts one completion request may carry. */
export const MAX_PROMPTS = 64;
/** Most alternatives per position a `logprobs` request may ask for (vLLM's default cap). */
export const MAX_LOGPROBS = 20;
const tokenIds = z.array(z.number().int().min(0)).min(1);

const stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish();
const common = {
  model: z.string(),
  max_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  repetition_penalty: z.number().positive().nullish(),
  seed: z.number().int().nullish(),
  stop,
  n: z.literal(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  presence_penalty: z.literal(0).nullish(),
  frequency_penalty: z.literal(0).nullish(),
  logprobs: z.union([z.literal(false), z.null()]).optional(),
  user: z.string().optional(),
};

const content = z.union([
  z.string(),
  z
    .array(z.object({ type: z.literal('text'), text: z.string() }))
    .transform((parts) => parts.map((p) => p.text).join('')),
]);

/** The `POST /v1/chat/completions` body this server accepts. */
export const chatRequestSchema = z.object({
  ...common,
  max_completion_tokens: z.number().int().positive().nullish(),
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant']),
        content: content.nullable(),
        name: z.string().optional(),
      }),
    )
    .min(1),
});

/** The `POST /v1/completions` body this server accepts. */
export const completionRequestSchema = z.object({
  ...common,
  // Several prompts and token-id prompts as vLLM takes them (lm-evaluation-harness sends ids).
  prompt: z.union([
    z.string(),
    z.array(z.string()).min(1).max(MAX_PROMPTS),
    tokenIds,
    z.array(tokenIds).min(1).max(MAX_PROMPTS),
  ]),
  // 0 is allowed with echo: score the prompt without generating.
  max_tokens: z.number().int().min(0).nullish(),
  echo: z.boolean().nullish(),
  logprobs: z.number().int().min(0).max(MAX_LOGPROBS).nullish(),
  suffix: z.null().optional(),
});

/** The prompts of a completion request as a list (text or token ids). */
export function requestPrompts(body: TextCompletionRequest): (string | number[])[] {
  const { prompt } = body;
  if (typeof prompt === 'string') return [prompt];
  if (prompt.length > 0 && typeof prompt[0] === 'number') return [prompt as number[]];
  return prompt as (string | number[])[];
}

/** A validated chat request. */
export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** A validated completion request. */
export type TextCompletionRequest = z.infer<typeof completionRequestSchema>;

/** Where the request goes wrong, in OpenAI's error shape (`param` names the field). */
export function describeIssues(error: z.ZodError): { message: string; param: string | null } {
  const issue = error.issues[0];
  const param = issue.path.length ? issue.path.join('.') : null;
  const unsupported: Record<string, string> = {
    n: 'only n=1 is supported',
    presence_penalty: 'presence_penalty is not supported (use repetition_penalty)',
    frequency_penalty: 'frequency_penalty is not supported (use repetition_penalty)',
    logprobs: `logprobs must be an integer from 0 to ${MAX_LOGPROBS} (chat logprobs are not supported)`,
    suffix: 'suffix is not supported',
  };
  const message = (param && unsupported[String(issue.path[0])]) || issue.message;
  return { message: param ? `${param}: ${message}` : message, param };
}

/** The sampling settings of a request (OpenAI's defaults: temperature 1, top_p 1). */
export function requestSampling(body: ChatRequest | TextCompletionRequest): SamplingOptions {
  return {
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    topK: body.top_k ?? 0,
    repetitionPenalty: body.repetition_penalty ?? 1,
    ...(body.seed !== undefined && body.seed !== null ? { seed: body.seed } : {}),
  };
}

/** The stop strings of a request as a list. */
export function requestStops(body: ChatRequest | TextCompletionRequest): string[] {
  if (body.stop === undefined || body.stop === null) return [];
  return typeof body.stop === 'string' ? [body.stop] : body.stop;
}
