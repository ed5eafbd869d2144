import { basename, resolve } from 'node:path';
import { UsageError } from '../core/errors.ts';
import { isLoopbackHost, newToken } from '../core/http-guard.ts';
import { assertServable, servedModel, startModelServer } from '../model-server/server.ts';
import { boolFlag, intFlag, requiredFlag, stringFlag } from './command.ts';
import type { Command } from './command.ts';
import { switchFlag, valueFlag } from './flags.ts';
import { loadModelFromFlags, modelFlags } from './model-flags.ts';
import { explainListenError } from './port-in-use.ts';

/** `finemed serve-model`: an OpenAI-compatible HTTP API over a model, until Ctrl-C. */
export const serveModelCommand: Command = {
  name: 'serve-model',
  summary:
    'Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions)',
  details: [
    'Binds 127.0.0.1 unless --host says otherwise. Every request must send',
    '"Authorization: Bearer <token>" (an OpenAI client\'s API key): a random token printed on',
    'stdout as {"url","model","token"}, or --token / FINEMED_SERVE_TOKEN. --no-token serves',
    'loopback addresses without one. Requests naming another host, or coming from a web page',
    'of another origin, are refused (403). Requests are served one at a time.',
    '/v1/completions also takes echo and logprobs (the legacy logprobs object: tokens,',
    'token_logprobs, top_logprobs, text_offset), token-id prompts and several prompts, as vLLM',
    "does, so lm-evaluation-harness's local-completions and finemed eval --endpoint score through it.",
  ].join('\n'),
  flags: {
    ...modelFlags,
    port: valueFlag('P', 'Port (0 picks a free one)', '8000'),
    host: valueFlag('H', 'Interface to bind', '127.0.0.1'),
    token: valueFlag('T', 'The bearer token clients must send (default: a random one)'),
    'no-token': switchFlag(
      'Ask for no token (loopback addresses only; any local process can then use it)',
    ),
    name: valueFlag('ID', 'Model name clients pass (default: the folder name)'),
  },
  async run(ctx) {
    const dir = requiredFlag(ctx, 'model');
    const host = stringFlag(ctx, 'host') ?? '127.0.0.1';
    const port = intFlag(ctx, 'port', { min: 0, max: 65535 }) ?? 8000;
    const token = chooseToken(stringFlag(ctx, 'token'), boolFlag(ctx, 'no-token'));
    // Refused before the model loads: a bad command line should not cost a load.
    assertServable(host, token);
    const model = await loadModelFromFlags(ctx);
    const id = stringFlag(ctx, 'name') ?? basename(resolve(dir));
    const server = await startModelServer(servedModel(model, id), {
      host,
      port,
      token,
      log: (line) => ctx.stderr.write(`${new Date().toISOString()} ${line}\n`),
    }).catch(async (error: NodeJS.ErrnoException) => {
      await model.dispose();
      explainListenError(error, port);
    });
    if (!isLoopbackHost(host)) {
      ctx.stderr.write(
        `finemed serve-model: WARNING: listening on ${host}, reachable from other machines; ` +
          'anyone with the token can use the model\n',
      );
    }
    const access = token ? 'send the token on stdout as the API key' : 'no token asked for';
    ctx.stderr.write(`serving '${id}' at ${server.url} (${access}); Ctrl-C to stop\n`);
    ctx.stdout.write(JSON.stringify({ url: server.url, model: id, token }) + '\n');
    await new Promise<void>((done) => {
      if (ctx.signal.aborted) done();
      else ctx.signal.addEventListener('abort', () => done(), { once: true });
    });
    await server.close();
    await model.dispose();
  },
};

/** The token from the flags or the environment, a fresh one by default, or null for none. */
function chooseToken(given: string | undefined, none: boolean): string | null {
  if (none && given !== undefined) throw new UsageError('--token and --no-token contradict');
  if (none) return null;
  const token = given ?? process.env.FINEMED_SERVE_TOKEN;
  if (token === '') throw new UsageError('--token must not be empty (use --no-token for none)');
  return token ?? newToken();
}
