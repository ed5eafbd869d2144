import { isLoopbackHost } from '../core/http-guard.ts';
import { defaultJobs } from '../kernel/jobs/index.ts';
import { loadJobModules, startWorkbenchServer } from '../ui/server/workbench.ts';
import { boolFlag, intFlag, stringFlag } from './command.ts';
import type { Command } from './command.ts';
import { repeatableFlag, switchFlag, valueFlag } from './flags.ts';
import { explainListenError } from './port-in-use.ts';

/** `finemed serve`: the workbench UI and its kernel, served to a browser. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve the notebook UI and the kernel to a browser (loopback, token-protected)',
  details: [
    'Prints http://HOST:PORT/?token=TOKEN on stdout; open it in a browser. Requests and sockets',
    'without the token are refused (401), and so are requests from other origins (403).',
    'Notebooks open from anywhere; they are saved only inside the notebooks folder or over a',
    "notebook opened here. Cells read files only in the notebooks folder, an opened notebook's",
    'folder, FINEMED_HOME and --allow-read folders (403 otherwise). Stop with Ctrl-C.',
  ].join('\n'),
  flags: {
    port: valueFlag('P', 'Port (0 picks a free one)', '8750'),
    host: valueFlag('HOST', 'Address to bind', '127.0.0.1'),
    'allow-remote': switchFlag(
      'Allow binding a non-loopback address (anyone with the token can run code)',
    ),
    notebooks: valueFlag(
      'DIR',
      "Folder listed in the notebook list (default: the project's notebooks/)",
    ),
    'allow-read': repeatableFlag(
      'DIR',
      "Also let cells read files in DIR (repeatable; besides the notebooks folder, each opened notebook's folder and FINEMED_HOME)",
    ),
    jobs: repeatableFlag(
      'MODULE',
      'Also register the job definitions a module exports (repeatable)',
    ),
  },
  async run(ctx) {
    const host = stringFlag(ctx, 'host') ?? '127.0.0.1';
    const allowRemote = boolFlag(ctx, 'allow-remote');
    const jobModules = (ctx.flags.jobs as string[] | undefined) ?? [];
    const port = intFlag(ctx, 'port', { min: 0, max: 65535 });
    const server = await startWorkbenchServer({
      host,
      port,
      allowRemote,
      notebooksDir: stringFlag(ctx, 'notebooks'),
      allowRead: (ctx.flags['allow-read'] as string[] | undefined) ?? [],
      jobs: [...defaultJobs(), ...(await loadJobModules(jobModules))],
    }).catch((error: NodeJS.ErrnoException) => explainListenError(error, port));
    if (!isLoopbackHost(host)) {
      ctx.stderr.write(
        `finemed serve: WARNING: listening on ${host}, reachable from other machines; ` +
          'anyone with the token can run code on this one\n',
      );
    }
    const jobNames = server.kernel.info().jobs.map((j) => j.name);
    ctx.stderr.write(`finemed serve: kernel jobs: ${jobNames.join(', ') || 'none'}\n`);
    ctx.stdout.write(`${server.url}\n`);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.close();
    ctx.stderr.write('finemed serve: stopped\n');
    return 0;
  },
};
