import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The workbench's data folder: `$FINEMED_HOME`, else `~/.finemed`. */
export function finemedHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.FINEMED_HOME ? resolve(env.FINEMED_HOME) : join(homedir(), '.finemed');
}
