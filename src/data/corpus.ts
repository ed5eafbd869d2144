import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { InputError } from '../core/errors.ts';
import { readLines, readTextFile, type ReadLimits } from '../core/lines.ts';
import type { SkippedLike } from '../core/skipped.ts';
import { sentences, words } from './text.ts';
import type { SourceDoc } from './types.ts';

/** Options for {@link readCorpus}. */
export interface CorpusOptions extends ReadLimits {
  /** The JSONL field holding the text; default `text`, else `answer` (MedlinePlus/MedQuAD). */
  field?: string;
  /** Read at most this many documents. */
  limit?: number;
  /** Longest passage in words; longer documents are split at sentence boundaries. */
  maxWords?: number;
  /** Skip bad JSONL lines (told to `onSkipped`) instead of stopping at the first one. */
  skipBadRows?: boolean;
  /** Told about the lines skipped, when some were. */
  onSkipped?: (skipped: readonly SkippedLike[]) => void;
}

/**
 * Reads a user's corpus as raw text: a JSONL file (one document per line, text in `field`,
 * title in `focus` or `title`, id in `doc_id` or `id`) or a folder of `.txt` files (title from
 * the file name). MedlinePlus-style `Summary :` prefixes are dropped. Long documents become
 * several passages. The JSONL file is streamed under the row limit, each `.txt` file read
 * under the file limit. Bad lines raise an {@link InputError} naming file, line and field, or
 * are skipped with `skipBadRows`.
 */
export async function readCorpus(path: string, options: CorpusOptions = {}): Promise<SourceDoc[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new InputError('corpus not found', { file: path });
  }
  const raw = info.isDirectory() ? await readFolder(path, options) : await readJsonl(path, options);
  const docs: SourceDoc[] = [];
  for (const r of raw.slice(0, options.limit ?? raw.length)) {
    const text = r.text
      .replace(/^\s*Summary\s*:\s*/i, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (words(text).length < 8) continue;
    split(text, options.maxWords ?? 180).forEach((chunk, k, all) => {
      docs.push({
        id: all.length > 1 ? `corpus-${r.id}-${k + 1}` : `corpus-${r.id}`,
        text: chunk,
        origin: 'corpus',
        kind: 'corpus',
        ...(r.topic ? { topic: r.topic } : {}),
      });
    });
  }
  if (docs.length === 0) throw new InputError('the corpus holds no usable text', { file: path });
  return docs;
}

interface RawDoc {
  id: string;
  text: string;
  topic?: string;
}

async function readFolder(dir: string, limits: ReadLimits): Promise<RawDoc[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.txt')).sort();
  const docs: RawDoc[] = [];
  for (const n of names)
    docs.push({
      id: basename(n, extname(n)).replace(/[^A-Za-z0-9_-]+/g, '_'),
      text: await readTextFile(join(dir, n), limits),
      topic: basename(n, extname(n)).replace(/[-_]+/g, ' '),
    });
  return docs;
}

/** A corpus line that cannot be used: why, and which field. */
class BadLine extends Error {
  constructor(
    readonly reason: string,
    readonly field?: string,
  ) {
    super(reason);
  }
}

function docOf(text: string, line: number, field: string | undefined): RawDoc {
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch (error) {
    throw new BadLine(`not valid JSON (${(error as Error).message})`);
  }
  if (!row || typeof row !== 'object' || Array.isArray(row))
    throw new BadLine('expected a JSON object');
  const r = row as Record<string, unknown>;
  const key = field ?? (typeof r.text === 'string' ? 'text' : 'answer');
  const body = r[key];
  if (typeof body !== 'string')
    throw new BadLine(`expected a string field '${key}' (choose one with --corpus-field)`, key);
  const topic = [r.focus, r.title].find((x): x is string => typeof x === 'string' && x.length > 0);
  const id = [r.doc_id, r.id].find((x) => typeof x === 'string' || typeof x === 'number');
  return { id: String(id ?? line), text: body, ...(topic ? { topic } : {}) };
}

async function readJsonl(file: string, options: CorpusOptions): Promise<RawDoc[]> {
  const out: RawDoc[] = [];
  const skipped: SkippedLike[] = [];
  for await (const { line, text, error } of readLines(file, options)) {
    if (options.limit !== undefined && out.length >= options.limit) break;
    if (error === undefined && !text.trim()) continue;
    try {
      if (error !== undefined) throw new BadLine(error);
      out.push(docOf(text, line, options.field));
    } catch (e) {
      if (!(e instanceof BadLine)) throw e;
      if (!options.skipBadRows) throw new InputError(e.reason, { file, line, field: e.field });
      skipped.push({
        source: { file, line },
        reason: e.field ? `${e.field}: ${e.reason}` : e.reason,
      });
    }
  }
  if (skipped.length > 0) options.onSkipped?.(skipped);
  return out;
}

function split(text: string, maxWords: number): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let n = 0;
  for (const s of sentences(text)) {
    const w = words(s).length;
    if (n + w > maxWords && current.length) {
      chunks.push(current.join(' '));
      current = [];
      n = 0;
    }
    current.push(s);
    n += w;
  }
  if (current.length) chunks.push(current.join(' '));
  return chunks;
}
