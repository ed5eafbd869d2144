import { open } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { ArtifactFile, ArtifactMeta, ArtifactStore } from '../../core/artifacts.ts';
import { InputError } from '../../core/errors.ts';

/** An artifact as the artifacts view lists it. */
export interface ArtifactSummary {
  /** `dataset`, `checkpoint`, `eval`, ... */
  kind: string;
  /** Its content key. */
  key: string;
  /** ISO creation time. */
  createdAt: string;
  /** The job's summary (counts, final loss, accuracy...). */
  summary: unknown;
  /** The configuration it was made with. */
  config: unknown;
  /** Its files with sizes and hashes, as the store's manifest lists them. */
  files: ArtifactFile[];
}

/** One file of an artifact, read for display. */
export type FilePreview =
  | { file: string; type: 'table'; columns: string[]; rows: unknown[][]; truncated: boolean }
  | { file: string; type: 'json'; value: unknown; truncated: boolean }
  | { file: string; type: 'text'; text: string; truncated: boolean }
  | { file: string; type: 'binary'; bytes: number };

/** An artifact with previews of its files. */
export interface ArtifactPreview extends ArtifactSummary {
  /** Previews in file order. */
  previews: FilePreview[];
}

/** How much of a file a preview reads, and how many table rows it shows. */
const PREVIEW_BYTES = 512 * 1024;
const PREVIEW_ROWS = 100;

/** Every finished artifact (optionally of one kind), newest first. */
export async function listArtifacts(
  store: ArtifactStore,
  kind?: string,
): Promise<ArtifactSummary[]> {
  return (await store.list(kind)).map(({ meta }) => summarize(meta));
}

function summarize(meta: ArtifactMeta): ArtifactSummary {
  return {
    kind: meta.kind,
    key: meta.key,
    createdAt: meta.createdAt,
    summary: meta.summary ?? null,
    config: meta.recipe.config,
    files: meta.files,
  };
}

/** One artifact with its datasets read as tables, its JSON files parsed and text shown. */
export async function previewArtifact(
  store: ArtifactStore,
  kind: string,
  key: string,
): Promise<ArtifactPreview> {
  const artifact = await store.get(kind, key);
  if (!artifact) throw new InputError(`no artifact ${kind}/${key}`, { field: 'key' });
  const { meta, dir } = artifact;
  const previews: FilePreview[] = [];
  for (const file of meta.files) previews.push(await previewFile(join(dir, file.name), file));
  return { ...summarize(meta), previews };
}

async function previewFile(path: string, file: ArtifactFile): Promise<FilePreview> {
  const ext = extname(file.name).toLowerCase();
  if (!['.jsonl', '.json', '.csv', '.txt', '.md'].includes(ext))
    return { file: file.name, type: 'binary', bytes: file.bytes };
  const { text, truncated } = await readHead(path);
  if (ext === '.jsonl') {
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    // The last line of a cut-off file is usually partial.
    const whole = truncated ? lines.slice(0, -1) : lines;
    const records = whole.slice(0, PREVIEW_ROWS).map((l) => JSON.parse(l) as unknown);
    return tablePreview(file.name, records, truncated || whole.length > PREVIEW_ROWS);
  }
  if (ext === '.csv') {
    const rows = parseCsv(text, { relax_column_count: true, to: PREVIEW_ROWS + 1 }) as string[][];
    const [columns = [], ...body] = rows;
    return { file: file.name, type: 'table', columns, rows: body, truncated };
  }
  if (ext === '.json' && !truncated) {
    const value: unknown = JSON.parse(text);
    if (Array.isArray(value) && value.every(isRecord))
      return tablePreview(file.name, value.slice(0, PREVIEW_ROWS), value.length > PREVIEW_ROWS);
    return { file: file.name, type: 'json', value, truncated: false };
  }
  return { file: file.name, type: 'text', text, truncated };
}

function tablePreview(file: string, records: unknown[], truncated: boolean): FilePreview {
  const objects = records.filter(isRecord);
  const columns = [...new Set(objects.flatMap((r) => Object.keys(r)))];
  const rows = objects.map((r) => columns.map((c) => r[c] ?? null));
  return { file, type: 'table', columns, rows, truncated };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readHead(path: string): Promise<{ text: string; truncated: boolean }> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const buffer = Buffer.alloc(Math.min(size, PREVIEW_BYTES));
    await handle.read(buffer, 0, buffer.length, 0);
    return { text: buffer.toString('utf8'), truncated: size > PREVIEW_BYTES };
  } finally {
    await handle.close();
  }
}
