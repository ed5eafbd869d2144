import { PassThrough } from 'node:stream';
import { main } from './main.ts';

/** What a CLI run in a test printed and returned. */
export interface CliRun {
  /** The exit code. */
  code: number;
  /** Everything written to stdout. */
  out: string;
  /** Everything written to stderr. */
  err: string;
  /** The last stdout line parsed as JSON (`--json` output), or `{}` when it is not JSON. */
  json: Record<string, unknown>;
}

/**
 * Runs `finemed ARGV` in this process with captured streams, for tests. `env` entries are set
 * for the duration of the run and restored afterwards.
 */
export async function runCli(argv: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await main(argv, { stdout, stderr: stderr as unknown as NodeJS.WriteStream });
    const last = out.trim().split('\n').at(-1) ?? '';
    let json: Record<string, unknown> = {};
    if (last.startsWith('{')) json = JSON.parse(last) as Record<string, unknown>;
    return { code, out, err, json };
  } finally {
    process.env = saved;
  }
}
