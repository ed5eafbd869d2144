import { InputError } from '../core/errors.ts';
import { readLines, type ReadLimits } from '../core/lines.ts';
import type { ChatMessage } from '../model/tokenizer.ts';

/** Where a training row came from, so errors and reports can point at it. */
export interface RowSource {
  /** The data file (or a label for in-memory rows). */
  file: string;
  /** 1-based line of the row. */
  line: number;
  /** The row's `id` field, when it has one. */
  id?: string;
}

/** A prompt or completion in TRL's formats: plain text, or a list of chat messages. */
export type TurnContent = string | ChatMessage[];

/** An SFT row: TRL's conversational (`messages`) or language-modelling (`text`) format. */
export type SftExample =
  | { kind: 'messages'; messages: ChatMessage[]; source: RowSource }
  | { kind: 'text'; text: string; source: RowSource };

/** A preference row in TRL's format (`prompt`, `chosen`, `rejected`). */
export interface DpoExample {
  /** The prompt. */
  prompt: TurnContent;
  /** The preferred completion. */
  chosen: TurnContent;
  /** The dispreferred completion. */
  rejected: TurnContent;
  /** Where it came from. */
  source: RowSource;
}

/** A row that was skipped under `skipBadRows`, and why. */
export interface SkippedRow {
  /** Where it is. */
  source: RowSource;
  /** What was wrong. */
  reason: string;
}

/** Parsed rows of one dataset and the rows skipped. */
export interface LoadedRows<T> {
  /** Valid rows, in file order. */
  rows: T[];
  /** Malformed rows skipped (only with `skipBadRows`). */
  skipped: SkippedRow[];
}

/** How to read a dataset. */
export interface ReadOptions extends Pick<ReadLimits, 'maxRowBytes'> {
  /** Skip and count malformed rows instead of stopping at the first one. */
  skipBadRows?: boolean;
  /** Told about the rows a file's read skipped (only when some were), e.g. to print them. */
  onSkipped?: (skipped: readonly SkippedRow[]) => void;
}

/** The chat roles a row may use: those of TRL's conversational format and Qwen2's template. */
export const CHAT_ROLES = ['system', 'user', 'assistant', 'tool'] as const;

/** A problem with one field of a row (turned into an {@link InputError} with file and line). */
export class BadRow extends Error {
  constructor(
    readonly reason: string,
    readonly field?: string,
  ) {
    super(reason);
  }
}

type Json = Record<string, unknown>;

function messagesOf(value: unknown, field: string): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new BadRow('expected a non-empty list of messages', field);
  return value.map((m, i) => {
    const where = `${field}[${i}]`;
    if (!m || typeof m !== 'object') throw new BadRow('expected a {role, content} object', where);
    const { role, content } = m as Json;
    if (typeof role !== 'string' || !(CHAT_ROLES as readonly string[]).includes(role))
      throw new BadRow(
        `expected ${CHAT_ROLES.join(', ')}, got ${JSON.stringify(role)}`,
        `${where}.role`,
      );
    if (typeof content !== 'string')
      throw new BadRow('expected string content', `${where}.content`);
    return { role, content };
  });
}

function turnOf(record: Json, field: string): TurnContent {
  const value = record[field];
  if (typeof value === 'string') {
    if (value === '') throw new BadRow('is empty', field);
    return value;
  }
  if (Array.isArray(value)) return messagesOf(value, field);
  throw new BadRow('expected a string or a list of messages', field);
}

function idOf(record: Json): string | undefined {
  return typeof record.id === 'string' || typeof record.id === 'number'
    ? String(record.id)
    : undefined;
}

/** Parses one SFT record: `{"messages": [...]}` or `{"text": "..."}`. */
export function parseSftRecord(record: unknown, source: RowSource): SftExample {
  if (!record || typeof record !== 'object' || Array.isArray(record))
    throw new BadRow('expected a JSON object');
  const r = record as Json;
  const withId = { ...source, id: idOf(r) };
  if ('messages' in r) {
    const messages = messagesOf(r.messages, 'messages');
    return { kind: 'messages', messages, source: withId };
  }
  if ('text' in r) {
    if (typeof r.text !== 'string' || r.text === '')
      throw new BadRow('expected non-empty text', 'text');
    return { kind: 'text', text: r.text, source: withId };
  }
  throw new BadRow('expected a "messages" list (conversational) or a "text" string', 'messages');
}

/** Parses one DPO record: `{"prompt", "chosen", "rejected"}`, each a string or a message list. */
export function parseDpoRecord(record: unknown, source: RowSource): DpoExample {
  if (!record || typeof record !== 'object' || Array.isArray(record))
    throw new BadRow('expected a JSON object');
  const r = record as Json;
  const example = {
    prompt: turnOf(r, 'prompt'),
    chosen: turnOf(r, 'chosen'),
    rejected: turnOf(r, 'rejected'),
    source: { ...source, id: idOf(r) },
  };
  if (JSON.stringify(example.chosen) === JSON.stringify(example.rejected))
    throw new BadRow('chosen and rejected are identical', 'rejected');
  return example;
}

/** A record to parse and where it is; `error` says why its line is not JSON. */
export interface SourcedRecord {
  /** The parsed JSON value (undefined when the line is not JSON). */
  value: unknown;
  /** Where it is. */
  source: RowSource;
  /** Why the line could not be parsed, if it could not. */
  error?: string;
}

/**
 * Parses records (from a file or in memory) with `parse`, applying the bad-row policy in file
 * order: the first bad row throws an {@link InputError} naming file, line and field, or every
 * bad row is skipped and counted. An empty result is an error either way.
 */
export function parseRows<T>(
  records: readonly SourcedRecord[],
  parse: (record: unknown, source: RowSource) => T,
  options: ReadOptions & { file: string },
): LoadedRows<T> {
  const rows: T[] = [];
  const skipped: SkippedRow[] = [];
  for (const { value, source, error: notJson } of records) {
    try {
      if (notJson !== undefined) throw new BadRow(notJson);
      rows.push(parse(value, source));
    } catch (error) {
      if (!(error instanceof BadRow)) throw error;
      if (!options.skipBadRows)
        throw new InputError(error.reason, {
          file: source.file,
          line: source.line,
          field: error.field,
        });
      skipped.push({
        source,
        reason: error.field ? `${error.field}: ${error.reason}` : error.reason,
      });
    }
  }
  if (skipped.length > 0) options.onSkipped?.(skipped);
  if (rows.length === 0) {
    const why = skipped.length > 0 ? ` (all ${skipped.length} rows were malformed)` : '';
    throw new InputError(`the dataset has no usable rows${why}`, { file: options.file });
  }
  return { rows, skipped };
}

/**
 * Reads a JSONL file into records with their line numbers, streaming it (see
 * {@link readLines}): a line that is not JSON, or is over the row limit, keeps its error.
 */
export async function readJsonlRecords(
  file: string,
  limits: Pick<ReadLimits, 'maxRowBytes'> = {},
): Promise<SourcedRecord[]> {
  const records: SourcedRecord[] = [];
  for await (const { line, text, error } of readLines(file, limits)) {
    const source = { file, line };
    if (error !== undefined) {
      records.push({ value: undefined, source, error });
      continue;
    }
    if (text.trim() === '') continue;
    try {
      records.push({ value: JSON.parse(text), source });
    } catch (e) {
      records.push({ value: undefined, source, error: `not valid JSON (${(e as Error).message})` });
    }
  }
  if (records.length === 0) throw new InputError('the dataset is empty', { file });
  return records;
}

async function readRows<T>(
  file: string,
  parse: (record: unknown, source: RowSource) => T,
  options: ReadOptions,
): Promise<LoadedRows<T>> {
  return parseRows(await readJsonlRecords(file, options), parse, { ...options, file });
}

/** Reads an SFT dataset (JSONL, TRL's `messages` or `text` format). */
export function readSftFile(
  file: string,
  options: ReadOptions = {},
): Promise<LoadedRows<SftExample>> {
  return readRows(file, parseSftRecord, options);
}

/** Reads a DPO dataset (JSONL, TRL's `prompt`/`chosen`/`rejected` format). */
export function readDpoFile(
  file: string,
  options: ReadOptions = {},
): Promise<LoadedRows<DpoExample>> {
  return readRows(file, parseDpoRecord, options);
}

/** Parses in-memory SFT records (e.g. from a notebook cell); `label` names them in errors. */
export function sftExamples(
  records: readonly unknown[],
  label = '<memory>',
  options: ReadOptions = {},
): LoadedRows<SftExample> {
  const sourced = records.map((value, i) => ({ value, source: { file: label, line: i + 1 } }));
  return parseRows(sourced, parseSftRecord, { ...options, file: label });
}

/** Parses in-memory DPO records; `label` names them in errors. */
export function dpoExamples(
  records: readonly unknown[],
  label = '<memory>',
  options: ReadOptions = {},
): LoadedRows<DpoExample> {
  const sourced = records.map((value, i) => ({ value, source: { file: label, line: i + 1 } }));
  return parseRows(sourced, parseDpoRecord, { ...options, file: label });
}
