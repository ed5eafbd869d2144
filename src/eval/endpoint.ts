import { setMaxListeners } from 'node:events';
import {
  EndpointClient,
  EndpointError,
  endpointModelKey,
  type EndpointOptions,
  type EndpointSeams,
} from './endpoint-client.ts';
import { cutAtStop } from './model-adapter.ts';
import type { EvalModel } from './run.ts';
import type {
  ChatGenerator,
  GenerateRequest,
  LoglikRequest,
  LoglikResult,
  LoglikScorer,
} from './types.ts';

export {
  EndpointClient,
  EndpointError,
  TokenBudgetError,
  endpointModelKey,
  normalizeEndpoint,
  type EndpointOptions,
  type EndpointUsage,
} from './endpoint-client.ts';

/** The legacy completions `logprobs` object the scorer reads. */
interface LegacyLogprobs {
  token_logprobs?: (number | null)[];
  top_logprobs?: (Record<string, number> | null)[] | null;
}

/** Runs `task` over every index at once; the client's gate bounds what is in flight. */
async function all<T>(
  count: number,
  signal: AbortSignal | undefined,
  task: (i: number, signal: AbortSignal) => Promise<T>,
): Promise<T[]> {
  // The first failure stops the rest: nothing more is sent or retried for a run that failed.
  const controller = new AbortController();
  // Every task waiting for a slot listens on this one signal: more than Node's default 10.
  setMaxListeners(count + 10, controller.signal);
  const stop = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    return await Promise.all(
      Array.from({ length: count }, (_, i) =>
        task(i, controller.signal).catch((error: unknown) => {
          controller.abort(error);
          throw error;
        }),
      ),
    );
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

/**
 * A {@link LoglikScorer} over `/v1/completions` with `echo` and `logprobs`, as
 * lm-evaluation-harness's `local-completions` scores: the context plus continuation is sent
 * with `max_tokens: 1`, `temperature: 0`, `logprobs: 1`, `echo: true`; the continuation's
 * tokens are those after the context's own token count (`ctxlen`), the generated token last is
 * left out, their logprobs are summed, and it is greedy when each equals its position's best.
 * The harness counts `ctxlen` with a local tokenizer; here the server counts it, by echoing the
 * context alone once (cached per context), so no tokenizer is needed and the server's own
 * special tokens count the same in both. Trailing whitespace of the context moves to the
 * continuation, as the harness does.
 */
export function endpointScorer(client: EndpointClient): LoglikScorer {
  const contextTokens = new Map<string, Promise<number>>();
  const echo = (prompt: string, signal: AbortSignal) =>
    client.post(
      '/completions',
      { prompt, max_tokens: 1, temperature: 0, logprobs: 1, echo: true, seed: 1234 },
      signal,
    );
  const promptTokens = (json: Record<string, unknown>, lp: LegacyLogprobs): number =>
    (json.usage as { prompt_tokens?: number } | undefined)?.prompt_tokens ??
    (lp.token_logprobs?.length ?? 1) - 1;
  const countContext = (context: string, signal: AbortSignal): Promise<number> => {
    let known = contextTokens.get(context);
    if (!known) {
      known = echo(context, signal).then((json) => promptTokens(json, logprobsOf(client, json)));
      known.catch(() => contextTokens.delete(context));
      contextTokens.set(context, known);
    }
    return known;
  };
  return {
    loglikelihood(requests: LoglikRequest[], signal?: AbortSignal): Promise<LoglikResult[]> {
      return all(requests.length, signal, async (i, inner) => {
        const context = requests[i].context.replace(/\s+$/, '');
        const continuation = requests[i].context.slice(context.length) + requests[i].continuation;
        const [ctxlen, json] = await Promise.all([
          countContext(context, inner),
          echo(context + continuation, inner),
        ]);
        const lp = logprobsOf(client, json);
        const end = promptTokens(json, lp);
        // A continuation merged into the context's last token is scored as that token.
        const start = Math.max(1, Math.min(ctxlen, end - 1));
        const values = lp.token_logprobs!.slice(start, end);
        const tops = lp.top_logprobs?.slice(start, end) ?? [];
        if (values.some((v) => typeof v !== 'number'))
          throw new EndpointError(`${client.url}/completions: a continuation token has no logprob`);
        const numbers = values as number[];
        return {
          logprob: numbers.reduce((a, b) => a + b, 0),
          tokens: numbers.length,
          isGreedy: numbers.every((v, k) => {
            const top = tops[k];
            return top ? v >= Math.max(...Object.values(top)) : false;
          }),
        };
      });
    },
  };
}

function logprobsOf(client: EndpointClient, json: Record<string, unknown>): LegacyLogprobs {
  const choice = (json.choices as { logprobs?: LegacyLogprobs | null }[] | undefined)?.[0];
  const lp = choice?.logprobs;
  if (!lp || !Array.isArray(lp.token_logprobs))
    throw new EndpointError(
      `${client.url}/completions returned no logprobs: log-likelihood scoring needs a server with echo and logprobs on /v1/completions (vLLM, llama.cpp server, finemed serve-model)`,
    );
  return lp;
}

/**
 * A {@link ChatGenerator} over `/v1/chat/completions` (the server applies its chat template)
 * with greedy decoding (`temperature: 0`), as lm-evaluation-harness's `local-chat-completions`
 * asks; a plain-text prompt goes to `/v1/completions` instead. Stop strings are sent (at most
 * four, OpenAI's limit) and cut again here, for servers that ignore them.
 */
export function endpointGenerator(client: EndpointClient): ChatGenerator {
  return {
    generate(requests: GenerateRequest[], signal?: AbortSignal): Promise<string[]> {
      return all(requests.length, signal, async (i, inner) => {
        const request = requests[i];
        const stop = request.stop?.filter((s) => s !== '').slice(0, 4);
        const common = {
          max_tokens: request.maxTokens,
          temperature: 0,
          seed: 1234,
          ...(stop && stop.length > 0 ? { stop } : {}),
        };
        const prompt = (request as { prompt?: string }).prompt;
        const json =
          prompt !== undefined
            ? await client.post('/completions', { ...common, prompt }, inner)
            : await client.post(
                '/chat/completions',
                { ...common, messages: request.messages },
                inner,
              );
        const choice = (
          json.choices as { text?: string; message?: { content?: string | null } }[] | undefined
        )?.[0];
        if (!choice) throw new EndpointError(`${client.url}: the response has no choices`);
        const text = prompt !== undefined ? choice.text : choice.message?.content;
        return cutAtStop(text ?? '', request.stop ?? []);
      });
    },
  };
}

/**
 * A served model ready for `evaluate()` in both modes. Its key names the endpoint and model
 * (`remote:URL#NAME`): a served model's weights are not content-addressed here, so a result
 * can be recomputed only while that server serves the same model.
 */
export function endpointModel(
  options: EndpointOptions,
  seams: EndpointSeams = {},
): EvalModel & { client: EndpointClient } {
  const client = new EndpointClient(options, seams);
  return {
    key: endpointModelKey(client.url, options.servedModel),
    client,
    scorer: endpointScorer(client),
    generator: endpointGenerator(client),
  };
}

/** What a result records about a remote model (shown by the CLI and kept in a cell's summary). */
export function remoteNote(model: { client: EndpointClient }): {
  endpoint: string;
  served_model: string;
  note: string;
} {
  return {
    endpoint: model.client.url,
    served_model: model.client.options.servedModel,
    note: 'scored through a server: it can be recomputed only while that server serves the same model',
  };
}
