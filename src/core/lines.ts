import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InputError } from './errors.ts';

/** The longest row (line) any reader accepts by default: far above real data, far below OOM. */
export const DEFAULT_MAX_ROW_BYTES = 8 * 1024 * 1024;

/**
 * The largest file read whole (a JSON array or object, a CSV): V8 cannot hold a string much
 * past 512 MiB, and parsing one needs several times its size in memory.
 */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/** How much of a file a reader may hold at once. */
export interface ReadLimits {
  /** Longest line in bytes (default {@link DEFAULT_MAX_ROW_BYTES}). */
  maxRowBytes?: number;
  /** Largest file read whole, in bytes (default {@link DEFAULT_MAX_FILE_BYTES}). */
  maxFileBytes?: number;
}

/** One line of a file, without its line ending. */
export interface TextLine {
  /** 1-based line number. */
  line: number;
  /** The line's text; empty when the line is over the limit. */
  text: string;
  /** Set when the line is over the row limit: why it was not read (its size and the limit). */
  error?: string;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const LF = 0x0a;
const CR = 0x0d;

/** `8 MiB`, `512 KiB`, or `1,000 bytes`, whichever is exact. */
export function formatLimit(bytes: number): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${n(bytes / (1 << 20))} MiB`;
  if (bytes >= 1 << 10 && bytes % (1 << 10) === 0) return `${n(bytes / (1 << 10))} KiB`;
  return `${n(bytes)} bytes`;
}

/** The reason a line over the limit was refused. */
export function rowLimitReason(bytes: number, limit: number): string {
  return `row is ${bytes.toLocaleString('en-US')} bytes, over the ${formatLimit(limit)} row limit (--max-row-bytes)`;
}

function checkLimit(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new InputError(`expected a positive whole number of bytes, got ${value}`, {
      field: name,
    });
  return value;
}

function readError(file: string, error: unknown): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  return new InputError(`cannot read (${code ?? (error as Error).message})`, { file });
}

/**
 * Streams the lines of a UTF-8 file: a leading byte-order mark is dropped, LF and CRLF both
 * end a line, and numbers are 1-based. A line longer than `maxRowBytes` is never held: its
 * bytes are counted and dropped as they stream past, and it comes out with `error` set (its
 * size and the limit), so the caller can stop or skip it. Memory stays within about one
 * row limit plus one read chunk, whatever the file's size.
 */
export async function* readLines(
  file: string,
  limits: Pick<ReadLimits, 'maxRowBytes'> = {},
): AsyncGenerator<TextLine> {
  const max = checkLimit(limits.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES, 'maxRowBytes');
  let parts: Buffer[] = [];
  let size = 0;
  let line = 1;
  const finish = (): TextLine => {
    if (size > max) return { line, text: '', error: rowLimitReason(size, max) };
    let bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
    if (line === 1 && bytes.subarray(0, 3).equals(BOM)) bytes = bytes.subarray(3);
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, -1);
    return { line, text: bytes.toString('utf8') };
  };
  const stream = createReadStream(file, { highWaterMark: 1 << 16 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      while (start < chunk.length) {
        const end = chunk.indexOf(LF, start);
        const stop = end < 0 ? chunk.length : end;
        size += stop - start;
        // Past the limit the bytes are only counted: a 50 MB row costs no more than an 8 MiB one.
        if (size <= max) parts.push(chunk.subarray(start, stop));
        else parts = [];
        if (end < 0) break;
        yield finish();
        parts = [];
        size = 0;
        line++;
        start = end + 1;
      }
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw readError(file, error);
  } finally {
    stream.destroy();
  }
  if (size > 0) yield finish();
}

/**
 * Reads a whole file as UTF-8 text without its byte-order mark, for formats that are one
 * document (a JSON array or object, a CSV). A file over `maxFileBytes` is refused before
 * any of it is read.
 */
export async function readTextFile(file: string, limits: ReadLimits = {}): Promise<string> {
  const max = checkLimit(limits.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES, 'maxFileBytes');
  let bytes: number;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    bytes = info.size;
  } catch (error) {
    throw readError(file, error);
  }
  if (bytes > max)
    throw new InputError(
      `file is ${bytes.toLocaleString('en-US')} bytes, over the ${formatLimit(max)} limit for ` +
        'formats read whole (--max-file-bytes); split it or convert it to JSON Lines',
      { file },
    );
  const chunks: Buffer[] = [];
  try {
    // Bounded by the limit, not by the size seen above: the file may grow in between.
    const stream = createReadStream(file, { end: max - 1 });
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  } catch (error) {
    throw readError(file, error);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The first character of a file that is not whitespace (after a byte-order mark), if any. */
export async function firstChar(file: string): Promise<string | undefined> {
  const stream = createReadStream(file, { highWaterMark: 1 << 12 });
  let offset = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (const byte of chunk) {
        const inBom = offset < 3 && byte === BOM[offset];
        offset++;
        if (inBom || byte === 0x20 || byte === 0x09 || byte === CR || byte === LF) continue;
        return String.fromCharCode(byte);
      }
    }
  } catch (error) {
    throw readError(file, error);
  } finally {
    stream.destroy();
  }
  return undefined;
}
