// Browser-safe and free of ONNX Runtime: the kernel's thread, the CLI's help and the notebook
// bundle read the knobs from here.
import { z } from 'zod';
import { UsageError } from '../../core/errors.ts';

/**
 * One setting of a stage, declared once. The kernel job's parameter schema, the typed
 * parameters, the CLI flag with its help text and the flag's parsing all derive from it.
 */
export interface Knob<S extends z.ZodType = z.ZodType> {
  /** Checks a value, whichever way it came (job parameter, CLI flag, `wb` call). */
  schema: S;
  /** What it does, for `--help`. */
  description: string;
  /** The value's placeholder in `--help` (default: an enum's choices, else `VALUE`). */
  value?: string;
  /** The CLI flag (default: the name in kebab case); `null` keeps it off the command line. */
  flag?: string | null;
  /** The default a run falls back to, for `--help` only (the schema leaves it unset). */
  shown?: string;
  /** An object-valued knob given on the command line as these flags, one per field. */
  fields?: Knobs;
  /**
   * How it reaches TRL's `SFTConfig`/`DPOConfig` in an exported bundle (see {@link TrlMapping});
   * every SFT and DPO knob declares one, so a new knob cannot be left out of the export.
   */
  trl?: TrlMapping;
}

/** What a trainer config needs besides the knobs' values: what the exported rows are. */
export interface TrlContext {
  /** SFT rows are conversations (`messages`), not plain `text`. */
  conversational: boolean;
}

/**
 * A knob's place in a TRL config: the field its value sets as is (left out while unset); a
 * function from its value as the run reads it (after presets; unset is `undefined`) to the
 * fields it sets, where TRL names, shapes or defaults it otherwise; `null` where it is not a
 * trainer setting but the export uses it another way (the knob says how); or `false` where
 * only the local run uses it (`finemed export trl` has no flag for it).
 */
// `never`: each knob's function takes its own value type (a warmup reads as `Warmup`).
export type TrlMapping =
  string | ((value: never, context: TrlContext) => Record<string, unknown>) | null | false;

/** A stage's knobs by parameter name. */
export type Knobs = Record<string, Knob>;

/** Declares a knob. */
export function knob<S extends z.ZodType>(
  schema: S,
  description: string,
  more: Omit<Knob<S>, 'schema' | 'description'> = {},
): Knob<S> {
  return { schema, description, ...more };
}

/** The zod shape of a set of knobs (extend it with a job's inputs, then `z.object`). */
export function knobShape<K extends Knobs>(knobs: K): { [N in keyof K]: K[N]['schema'] } {
  return Object.fromEntries(Object.entries(knobs).map(([n, k]) => [n, k.schema])) as {
    [N in keyof K]: K[N]['schema'];
  };
}

/** The values of a set of knobs, as their schemas return them. */
export type KnobValues<K extends Knobs> = { [N in keyof K]: z.output<K[N]['schema']> };

/** A CLI flag as `finemed --help` and the argument parser read it (the CLI's `FlagSpec`). */
export interface KnobFlag {
  /** `string` flags take a value; `boolean` flags are switches. */
  type: 'string' | 'boolean';
  /** Help text. */
  description: string;
  /** Placeholder of the value in help. */
  value?: string;
  /** Shown in help as the default. */
  default?: string;
}

/** The TRL config fields a set of knobs' values set, in the knobs' order (see {@link TrlMapping}). */
export function trlFields(
  knobs: Knobs,
  values: object,
  context: TrlContext,
): Record<string, unknown> {
  const given = values as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(knobs).flatMap(([name, k]): [string, unknown][] => {
      if (typeof k.trl === 'function') {
        const map = k.trl as (value: unknown, context: TrlContext) => Record<string, unknown>;
        return Object.entries(map(given[name], context));
      }
      return typeof k.trl === 'string' && given[name] !== undefined ? [[k.trl, given[name]]] : [];
    }),
  );
}

/** The flag name a knob has on the command line, or null. */
export function flagOf(name: string, k: Knob): string | null {
  if (k.flag !== undefined) return k.flag;
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The innermost schema under optional/default wrappers: what kind of value a flag holds. */
function base(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault)
    return base(schema.unwrap() as z.ZodType);
  return schema;
}

/** The CLI flags of a set of knobs (object knobs become one flag per field). */
export function knobFlags(knobs: Knobs): Record<string, KnobFlag> {
  const flags: Record<string, KnobFlag> = {};
  for (const [name, k] of Object.entries(knobs)) {
    if (k.fields) Object.assign(flags, knobFlags(k.fields));
    const flag = flagOf(name, k);
    if (flag === null) continue;
    const schema = base(k.schema);
    if (schema instanceof z.ZodBoolean) {
      flags[flag] = { type: 'boolean', description: k.description };
      continue;
    }
    const choices = schema instanceof z.ZodEnum ? schema.options.join('|') : undefined;
    flags[flag] = {
      type: 'string',
      value: k.value ?? choices ?? 'VALUE',
      // A shown default stays out of `default`, which the argument parser would fill in.
      description: k.shown === undefined ? k.description : `${k.description} (default: ${k.shown})`,
      ...(k.schema instanceof z.ZodDefault ? { default: String(k.schema.def.defaultValue) } : {}),
    };
  }
  return flags;
}

/** A flag's text as the knob's kind of value (checked by the schema afterwards). */
function fromText(flag: string, k: Knob, raw: string | boolean): unknown {
  const schema = base(k.schema);
  if (schema instanceof z.ZodBoolean) return raw === true ? true : undefined;
  if (typeof raw !== 'string') return raw;
  if (schema instanceof z.ZodNumber) {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value))
      throw new UsageError(`--${flag} must be a number, got '${raw}'`);
    return value;
  }
  if (schema instanceof z.ZodArray) return raw.split(',').map((t) => t.trim());
  return raw;
}

/**
 * The knobs' values from parsed CLI flags, each converted and checked by its own schema
 * (absent flags take the schema's default, if any); a bad value names its flag.
 */
export function knobsFromFlags<K extends Knobs>(
  knobs: K,
  flags: Record<string, unknown>,
): Partial<KnobValues<K>> {
  const values: Record<string, unknown> = {};
  for (const [name, k] of Object.entries(knobs)) {
    const flag = flagOf(name, k);
    let value: unknown;
    if (k.fields) {
      const fields = Object.entries(knobsFromFlags(k.fields, flags));
      value = fields.some(([, v]) => v !== undefined) ? Object.fromEntries(fields) : undefined;
    } else if (flag !== null && flags[flag] !== undefined) {
      value = fromText(flag, k, flags[flag] as string | boolean);
    }
    if (value === undefined) {
      // Absent: the schema's default, if it has one (a required field is checked by its object).
      const fallback = k.schema.safeParse(undefined);
      if (fallback.success && fallback.data !== undefined) values[name] = fallback.data;
      continue;
    }
    const parsed = k.schema.safeParse(value);
    if (!parsed.success) throw flagError(name, k, flags, parsed.error);
    if (parsed.data !== undefined) values[name] = parsed.data;
  }
  return values as Partial<KnobValues<K>>;
}

function flagError(name: string, k: Knob, flags: Record<string, unknown>, error: z.ZodError) {
  const issue = error.issues[0];
  const field = issue.path[0];
  const sub = k.fields && typeof field === 'string' ? k.fields[field] : undefined;
  const flag = sub ? flagOf(String(field), sub) : flagOf(name, k);
  const given = flag === null ? undefined : flags[flag];
  // Only a field of an object knob can be missing: its sibling flags were given.
  if (given === undefined)
    return new UsageError(`--${flag} is required with the other ${name} flags`);
  const got = typeof given === 'string' ? `, got '${given}'` : '';
  return new UsageError(`--${flag} ${rule(issue)}${got}`);
}

/** An issue as the CLI words its rules (`must be >= 0`). */
function rule(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.join('|')}`;
  if (issue.code === 'too_small') return `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
  if (issue.code === 'too_big') return `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
  if (issue.code === 'invalid_type' && issue.expected === 'int') return 'must be an integer';
  return `must be ${issue.message}`;
}
