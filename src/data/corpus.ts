import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { InputError } from '../core/errors.ts';
import { sentences, words } from './text.ts';
import type { SourceDoc } from './types.ts';

/** Options for {@link readCorpus}. */
export interface CorpusOptions {
  /** The JSONL field holding the text; default `text`, else `answer` (MedlinePlus/MedQuAD). */
  field?: string;
  /** Read at most this many documents. */
  limit?: number;
  /** Longest passage in words; longer documents are split at sentence boundaries. */
  maxWords?: number;
}

/**
 * Reads a user's corpus as raw text: a JSONL file (one document per line, text in `field`,
 * title in `focus` or `title`, id in `doc_id` or `id`) or a folder of `.txt` files (title from
 * the file name). MedlinePlus-style `Summary :` prefixes are dropped. Long documents become
 * several passages. Bad lines raise an {@link InputError} naming file, line and field.
 */
export function readCorpus(path: string, options: CorpusOptions = {}): SourceDoc[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new InputError('corpus not found', { file: path });
  }
  const raw = stat.isDirectory() ? readFolder(path) : readJsonl(path, options.field);
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

function readFolder(dir: string): RawDoc[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.txt'))
    .sort()
    .map((n) => ({
      id: basename(n, extname(n)).replace(/[^A-Za-z0-9_-]+/g, '_'),
      text: readFileSync(join(dir, n), 'utf8'),
      topic: basename(n, extname(n)).replace(/[-_]+/g, ' '),
    }));
}

function readJsonl(file: string, field?: string): RawDoc[] {
  const out: RawDoc[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let row: Record<string, unknown>;
      try {
        row = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new InputError('not valid JSON', { file, line: i + 1 });
      }
      const key = field ?? (typeof row.text === 'string' ? 'text' : 'answer');
      const text = row[key];
      if (typeof text !== 'string') {
        throw new InputError(`expected a string field '${key}' (choose one with --corpus-field)`, {
          file,
          line: i + 1,
          field: key,
        });
      }
      const topic = [row.focus, row.title].find(
        (x): x is string => typeof x === 'string' && x.length > 0,
      );
      const id = [row.doc_id, row.id].find((x) => typeof x === 'string' || typeof x === 'number');
      out.push({ id: String(id ?? i + 1), text, ...(topic ? { topic } : {}) });
    });
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
