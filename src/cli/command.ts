import { UsageError } from '../core/errors.ts';
import type { FlagSpec } from './flags.ts';

/** What a command's `run` receives. */
export interface CommandContext {
  /** Parsed flag values. */
  flags: Record<string, string | boolean | string[] | undefined>;
  /** Positional arguments. */
  args: string[];
  /** Where results go (JSON, tables). */
  stdout: NodeJS.WritableStream;
  /** Where progress and diagnostics go. */
  stderr: NodeJS.WriteStream;
  /** Aborted when the user presses Ctrl-C. */
  signal: AbortSignal;
}

/** A `finemed` subcommand. */
export interface Command {
  /** The word after `finemed` (may contain a space for groups, e.g. `train sft`). */
  name: string;
  /** One line for `finemed --help`. */
  summary: string;
  /** Positional arguments in usage order, e.g. `['NOTEBOOK']`. */
  positionals?: string[];
  /** Flags by long name. */
  flags: Record<string, FlagSpec>;
  /** Longer help text shown under the usage line. */
  details?: string;
  /** Runs the command; returns the exit code (0 when omitted). */
  run(ctx: CommandContext): Promise<number | void>;
}

/** A string flag's value, or undefined. */
export function stringFlag(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A string flag that must be present. */
export function requiredFlag(ctx: CommandContext, name: string): string {
  const v = stringFlag(ctx, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** A numeric flag, checked to be finite and within [min, max]. */
export function numberFlag(
  ctx: CommandContext,
  name: string,
  opts: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  const raw = stringFlag(ctx, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const kind = opts.integer ? 'an integer' : 'a number';
  if (raw.trim() === '' || !Number.isFinite(value) || (opts.integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${kind}, got '${raw}'`);
  }
  if (opts.min !== undefined && value < opts.min)
    throw new UsageError(`--${name} must be >= ${opts.min}, got ${raw}`);
  if (opts.max !== undefined && value > opts.max)
    throw new UsageError(`--${name} must be <= ${opts.max}, got ${raw}`);
  return value;
}

/** An integer flag (see {@link numberFlag}). */
export function intFlag(
  ctx: CommandContext,
  name: string,
  opts: { min?: number; max?: number } = {},
): number | undefined {
  return numberFlag(ctx, name, { ...opts, integer: true });
}

/** A flag whose value must be one of `choices`. */
export function choiceFlag<T extends string>(
  ctx: CommandContext,
  name: string,
  choices: readonly T[],
): T | undefined {
  const raw = stringFlag(ctx, name);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${choices.join('|')}, got '${raw}'`);
  }
  return raw as T;
}

/** A boolean switch. */
export function boolFlag(ctx: CommandContext, name: string): boolean {
  return ctx.flags[name] === true;
}
