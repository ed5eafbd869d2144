import { basename, resolve } from 'node:path';
import { startModelServer } from '../model/server.ts';
import { servedModel } from '../model/text-generation.ts';
import { intFlag, requiredFlag, stringFlag, type Command } from './command.ts';
import { loadModelFromFlags, modelFlags } from './model-flags.ts';

/** `finemed serve-model`: an OpenAI-compatible HTTP API over a model, until Ctrl-C. */
export const serveModelCommand: Command = {
  name: 'serve-model',
  summary:
    'Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions)',
  details: [
    'Binds 127.0.0.1 unless --host says otherwise. With --token (or FINEMED_SERVE_TOKEN) every request',
    'must send "Authorization: Bearer <token>". Requests are served one at a time.',
  ].join('\n'),
  flags: {
    ...modelFlags,
    port: { type: 'string', value: 'P', description: 'Port', default: '8000' },
    host: { type: 'string', value: 'H', description: 'Interface to bind', default: '127.0.0.1' },
    token: { type: 'string', value: 'T', description: 'Require this bearer token' },
    name: {
      type: 'string',
      value: 'ID',
      description: 'Model name clients pass (default: the folder name)',
    },
  },
  async run(ctx) {
    const dir = requiredFlag(ctx, 'model');
    const port = intFlag(ctx, 'port', { min: 0, max: 65535 }) ?? 8000;
    const model = await loadModelFromFlags(ctx);
    const id = stringFlag(ctx, 'name') ?? basename(resolve(dir));
    const token = stringFlag(ctx, 'token') ?? process.env.FINEMED_SERVE_TOKEN;
    const server = await startModelServer(servedModel(model, id), {
      host: stringFlag(ctx, 'host') ?? '127.0.0.1',
      port,
      token,
      log: (line) => ctx.stderr.write(`${new Date().toISOString()} ${line}\n`),
    });
    ctx.stderr.write(
      `serving '${id}' at ${server.url}${token ? ' (bearer token required)' : ''}; Ctrl-C to stop\n`,
    );
    ctx.stdout.write(JSON.stringify({ url: server.url, model: id }) + '\n');
    await new Promise<void>((done) => {
      if (ctx.signal.aborted) done();
      else ctx.signal.addEventListener('abort', () => done(), { once: true });
    });
    await server.close();
    await model.dispose();
  },
};
