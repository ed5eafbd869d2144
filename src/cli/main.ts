import { parseArgs } from 'node:util';
import { CancelledError, InputError, UsageError } from '../core/errors.ts';
import { packageVersion } from '../core/version.ts';
import type { Command, CommandContext } from './command.ts';
import { commands } from './commands.ts';

/** Runs the CLI with `argv` (without `node` and the script) and returns the exit code. */
export async function main(
  argv: string[],
  io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WriteStream } = {},
): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    stderr.write('\nfinemed: interrupting (press Ctrl-C again to quit at once)\n');
    controller.abort(new CancelledError('interrupted by the user'));
  };
  process.on('SIGINT', onSigint);
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      stdout.write(overview());
      return 0;
    }
    if (argv[0] === '--version') {
      stdout.write(`finemed ${packageVersion()}\n`);
      return 0;
    }
    const { command, rest } = resolveCommand(argv);
    if (rest.includes('--help') || rest.includes('-h')) {
      stdout.write(commandHelp(command));
      return 0;
    }
    const ctx = parseCommandArgs(command, rest, { stdout, stderr, signal: controller.signal });
    return (await command.run(ctx)) ?? 0;
  } catch (error) {
    return report(error, stderr);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function resolveCommand(argv: string[]): { command: Command; rest: string[] } {
  const two = commands.find((c) => c.name === `${argv[0]} ${argv[1]}`);
  if (two) return { command: two, rest: argv.slice(2) };
  const one = commands.find((c) => c.name === argv[0]);
  if (one) return { command: one, rest: argv.slice(1) };
  const group = commands.filter((c) => c.name.startsWith(`${argv[0]} `));
  if (group.length > 0) {
    const names = group.map((c) => c.name.split(' ')[1]).join('|');
    throw new UsageError(
      argv[1] === undefined || argv[1].startsWith('-')
        ? `'${argv[0]}' needs a subcommand: ${names}`
        : `unknown subcommand '${argv[0]} ${argv[1]}' (expected ${names})`,
    );
  }
  throw new UsageError(`unknown command '${argv[0]}' (see 'finemed --help')`);
}

function parseCommandArgs(
  command: Command,
  rest: string[],
  io: Pick<CommandContext, 'stdout' | 'stderr' | 'signal'>,
): CommandContext {
  const options = Object.fromEntries(
    Object.entries(command.flags).map(([name, spec]) => [
      name,
      {
        type: spec.type,
        ...(spec.multiple ? { multiple: true } : {}),
        ...(spec.default === undefined ? {} : { default: spec.default }),
      },
    ]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(`${command.name}: ${(error as Error).message.split('\n')[0]}`);
  }
  const expected = command.positionals ?? [];
  if (parsed.positionals.length > expected.length) {
    throw new UsageError(
      `${command.name}: unexpected argument '${parsed.positionals[expected.length]}'`,
    );
  }
  const missing = expected.slice(parsed.positionals.length).filter((p) => !p.startsWith('['));
  if (missing.length > 0) throw new UsageError(`${command.name}: missing ${missing.join(' ')}`);
  return { flags: parsed.values as CommandContext['flags'], args: parsed.positionals, ...io };
}

function report(error: unknown, stderr: NodeJS.WritableStream): number {
  if (error instanceof UsageError) {
    stderr.write(`finemed: ${error.message}\n`);
    return 2;
  }
  if (error instanceof CancelledError) {
    stderr.write(`finemed: ${error.message}\n`);
    return 130;
  }
  const message = error instanceof Error ? error.message : String(error);
  stderr.write(`finemed: error: ${message}\n`);
  if (!(error instanceof InputError) && process.env.FINEMED_DEBUG && error instanceof Error) {
    stderr.write(`${error.stack}\n`);
  }
  return 1;
}

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'finemed: the FineMedLM-o1 recipe on your machine (synthesize, train, test-time train, evaluate)',
    '',
    'Usage: finemed <command> [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'finemed <command> --help' for a command's flags.",
    '',
  ].join('\n');
}

/** The `--help` text of one command. */
export function commandHelp(command: Command): string {
  const flags = Object.entries(command.flags).map(([name, spec]) => {
    const left = spec.type === 'string' ? `--${name} ${spec.value ?? 'VALUE'}` : `--${name}`;
    const dflt =
      spec.default !== undefined && spec.default !== false ? ` (default: ${spec.default})` : '';
    return [left, `${spec.description}${dflt}`] as const;
  });
  const width = Math.max(10, ...flags.map(([l]) => l.length));
  return [
    `Usage: finemed ${command.name}${(command.positionals ?? []).map((p) => ` ${p}`).join('')} [flags]`,
    '',
    command.summary,
    ...(command.details ? ['', command.details] : []),
    '',
    'Flags:',
    ...flags.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`),
    `  ${'--help'.padEnd(width)}  Show this help`,
    '',
  ].join('\n');
}
