import type { Command } from './command.ts';
import { artifactsCommand } from './artifacts.ts';
import { benchEvalCommand } from './bench-eval.ts';
import { compareCommand } from './compare.ts';
import { evalCommand } from './eval.ts';
import { serveCommand } from './serve.ts';

/** Every `finemed` command, in the order `finemed --help` lists them. */
export const commands: Command[] = [
  artifactsCommand,
  compareCommand,
  evalCommand,
  benchEvalCommand,
  serveCommand,
];
