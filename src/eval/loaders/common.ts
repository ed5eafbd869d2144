import { InputError } from '../../core/errors.ts';
import { firstChar, readLines, readTextFile, type ReadLimits } from '../../core/lines.ts';
import type {
  BenchmarkFormat,
  EvalItem,
  ItemSource,
  LoadedBenchmark,
  SkippedRecord,
} from '../types.ts';

/** Options every loader takes; the limits bound what one row (or a whole-file format) may hold. */
export interface LoadOptions extends ReadLimits {
  /** Skip and count malformed records instead of stopping at the first one. */
  skipBadRows?: boolean;
  /**
   * MedMCQA only: whether `cop` counts from 0 (Hugging Face copy) or 1 (original release).
   * `auto` (the default) infers it from the whole file and refuses a file that fits both.
   */
  copBase?: 0 | 1 | 'auto';
  /** PubMedQA only: a `{pmid: "yes"|"no"|"maybe"}` file whose labels replace `final_decision`. */
  truthFile?: string;
  /** MMLU only: the subject, when the file name (`anatomy_test.csv`) does not say it. */
  subject?: string;
}

/** A rejected record: what is wrong with it and which field, if one. */
export class BadRecord extends Error {
  constructor(
    readonly reason: string,
    readonly field?: string,
  ) {
    super(reason);
  }
}

/**
 * Collects a loader's items and applies the bad-row policy in one place: a bad record
 * either throws an {@link InputError} naming file, line (or key) and field, or is counted.
 */
export class ItemCollector {
  readonly items: EvalItem[] = [];
  readonly skipped: SkippedRecord[] = [];
  private readonly ids = new Set<string>();

  constructor(
    readonly format: BenchmarkFormat,
    readonly file: string,
    private readonly skipBadRows = false,
  ) {}

  /** Adds the item `build` makes, or handles the {@link BadRecord} it throws. */
  add(source: ItemSource, build: () => EvalItem): void {
    try {
      const item = build();
      if (this.ids.has(item.id)) throw new BadRecord(`duplicate id '${item.id}'`, 'id');
      this.ids.add(item.id);
      this.items.push(item);
    } catch (error) {
      if (!(error instanceof BadRecord)) throw error;
      this.reject(source, error.reason, error.field);
    }
  }

  /** Records a bad record, or throws when bad rows are not to be skipped. */
  reject(source: ItemSource, reason: string, field?: string): void {
    if (!this.skipBadRows) {
      const key = source.key === undefined ? undefined : `key ${source.key}`;
      const where = [key, field].filter((p) => p !== undefined).join(': ');
      throw new InputError(reason, {
        file: source.file,
        line: source.line,
        field: where || undefined,
      });
    }
    this.skipped.push({ source, reason: field ? `${field}: ${reason}` : reason });
  }

  /** The finished load. */
  result(): LoadedBenchmark {
    return { format: this.format, file: this.file, items: this.items, skipped: this.skipped };
  }
}

/** One record of a JSON Lines file or JSON array, or the reason it could not be parsed. */
export interface JsonRecord {
  /** Where the record is. */
  source: ItemSource;
  /** The parsed value, when the text parsed. */
  value?: unknown;
  /** The parse error, when it did not. */
  error?: string;
}

/**
 * The records of a `.jsonl` file (one per non-blank line, streamed under the row limit) or
 * of a file holding one JSON array (read whole under the file limit); a JSONL line that does
 * not parse, or is over the limit, is returned with its error so the caller can reject or
 * skip it like any other bad record.
 */
export async function readJsonRecords(
  file: string,
  limits: ReadLimits = {},
): Promise<JsonRecord[]> {
  if ((await firstChar(file)) === '[') {
    const array = parseWhole(file, await readTextFile(file, limits));
    if (!Array.isArray(array)) throw new InputError('expected a JSON array', { file });
    return array.map((value, i) => ({ source: { file, key: `[${i}]` }, value }));
  }
  const records: JsonRecord[] = [];
  for await (const { line, text, error } of readLines(file, limits)) {
    const source = { file, line };
    if (error !== undefined) records.push({ source, error });
    else if (text.trim() === '') continue;
    else {
      try {
        records.push({ source, value: JSON.parse(text) });
      } catch (e) {
        records.push({ source, error: `not valid JSON (${(e as Error).message})` });
      }
    }
  }
  return records;
}

/**
 * Turns JSON records into items with `build`, which reads one record object and throws a
 * {@link BadRecord} for what is wrong with it; unparseable lines and non-objects are bad too.
 */
export function collectJsonItems(
  format: BenchmarkFormat,
  file: string,
  records: readonly JsonRecord[],
  skipBadRows: boolean | undefined,
  build: (record: Record<string, unknown>, source: ItemSource) => EvalItem,
): LoadedBenchmark {
  const collector = new ItemCollector(format, file, skipBadRows);
  for (const { source, value, error } of records) {
    collector.add(source, () => {
      if (error) throw new BadRecord(error);
      return build(asObject(value), source);
    });
  }
  return collector.result();
}

/** Reads a JSON Lines or JSON array file and builds its items (see {@link collectJsonItems}). */
export async function loadJsonItems(
  format: BenchmarkFormat,
  file: string,
  opts: LoadOptions,
  build: (record: Record<string, unknown>, source: ItemSource) => EvalItem,
): Promise<LoadedBenchmark> {
  const records = await readJsonRecords(file, opts);
  return collectJsonItems(format, file, records, opts.skipBadRows, build);
}

/** Parses a whole-file JSON document, naming the file when it does not parse. */
export function parseWhole(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`not valid JSON (${(error as Error).message})`, { file });
  }
}

/** The record as an object, or a {@link BadRecord}. */
export function asObject(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRecord('expected a JSON object');
  }
  return value as Record<string, unknown>;
}

/** A field that must be a non-empty string. */
export function stringField(record: Record<string, unknown>, field: string): string {
  const value = record[field];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new BadRecord(
      value === undefined ? 'missing' : 'expected a non-empty string',
      String(field),
    );
  }
  return value;
}

/** A field that may be absent or null, else must be a string; blank strings count as absent. */
export function optionalString(record: Record<string, unknown>, field: string): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new BadRecord('expected a string', field);
  return value.trim() === '' ? undefined : value;
}

/** Option letters: A for option 0, B for option 1, ... */
export function optionLetter(index: number): string {
  return String.fromCharCode(65 + index);
}

/** The 0-based option index of an answer letter, or a {@link BadRecord}. */
export function letterIndex(letter: unknown, optionCount: number, field: string): number {
  if (typeof letter !== 'string' || !/^[A-Z]$/i.test(letter.trim())) {
    throw new BadRecord(`expected an option letter, got ${JSON.stringify(letter)}`, field);
  }
  const index = letter.trim().toUpperCase().charCodeAt(0) - 65;
  if (index >= optionCount) {
    throw new BadRecord(`answer ${letter} but only ${optionCount} options`, field);
  }
  return index;
}

/** Checks an option list: enough options, each a non-empty string. */
export function checkOptions(
  options: unknown[],
  field: string,
  min: number,
  max: number,
): string[] {
  if (options.length < min || options.length > max) {
    throw new BadRecord(`expected ${min}-${max} options, got ${options.length}`, field);
  }
  return options.map((option, i) => {
    if (typeof option !== 'string' && typeof option !== 'number') {
      throw new BadRecord('expected a string', `${field}.${optionLetter(i)}`);
    }
    const text = String(option);
    if (text.trim() === '') throw new BadRecord('empty option', `${field}.${optionLetter(i)}`);
    return text;
  });
}

/** An item id from its place in the file: the JSON array index or object key, else `L<line>`. */
export function placeId(source: ItemSource): string {
  return source.key ?? `L${source.line}`;
}

/** The record's own id (a string or a number in `field`), else its place in the file. */
export function recordId(
  record: Record<string, unknown>,
  field: string,
  source: ItemSource,
): string {
  const value = record[field];
  if (typeof value === 'number') return String(value);
  if (value !== undefined && value !== null && typeof value !== 'string') {
    throw new BadRecord('expected a string or a number', field);
  }
  return optionalString(record, field) ?? placeId(source);
}
