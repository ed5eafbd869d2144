import { InputError } from '../../core/errors.ts';
import { parquetBytes, type ParquetColumn } from '../../core/parquet.ts';
import type { ChatMessage } from '../../model/tokenizer.ts';
import {
  readDpoFile,
  readSftFile,
  type ReadOptions,
  type SkippedRow,
  type TurnContent,
} from '../examples.ts';
import type { ExportStage } from './trainer-config.ts';

/** A stage's rows in TRL's dataset format, ready to write. */
export interface TrlRows {
  /** One JSON object per row. */
  records: Record<string, unknown>[];
  /** The columns, in order (`messages`, `text`, or `prompt`/`chosen`/`rejected`). */
  columns: string[];
  /** SFT rows are conversations (`messages`), not plain `text`. */
  conversational: boolean;
  /** Malformed rows left out (only with `skipBadRows`). */
  skipped: SkippedRow[];
}

// TRL's conversational preference format: the prompt is the user's turn, completions the assistant's.
const asTurn = (value: TurnContent, role: 'user' | 'assistant'): ChatMessage[] =>
  typeof value === 'string' ? [{ role, content: value }] : value;

/**
 * Reads a stage's JSONL rows with the training readers (so a bad row is an error naming file,
 * line and field) and converts them to TRL's formats: SFT `{"messages": [...]}` (or `{"text"}`
 * rows, which TRL cannot mix with conversations in one dataset), DPO conversational
 * `{"prompt": [...], "chosen": [...], "rejected": [...]}`.
 */
export async function readTrlRows(
  stage: ExportStage,
  file: string,
  options: ReadOptions = {},
): Promise<TrlRows> {
  if (stage === 'dpo') {
    const { rows, skipped } = await readDpoFile(file, options);
    const records = rows.map((r) => ({
      prompt: asTurn(r.prompt, 'user'),
      chosen: asTurn(r.chosen, 'assistant'),
      rejected: asTurn(r.rejected, 'assistant'),
    }));
    return { records, columns: ['prompt', 'chosen', 'rejected'], conversational: true, skipped };
  }
  const { rows, skipped } = await readSftFile(file, options);
  const kind = rows[0].kind;
  const other = rows.find((r) => r.kind !== kind);
  if (other)
    throw new InputError(
      `a TRL dataset is either conversations or plain text: this row has "${other.kind}" but line ${rows[0].source.line} has "${kind}"`,
      { file, line: other.source.line, field: other.kind },
    );
  const records = rows.map((r) =>
    r.kind === 'messages' ? { messages: r.messages } : { text: r.text },
  );
  return { records, columns: [kind], conversational: kind === 'messages', skipped };
}

/** The rows as JSON Lines. */
export function trlJsonl(rows: TrlRows): string {
  return rows.records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** The rows as Parquet, conversations as list<struct<role, content>>. */
export function trlParquet(rows: TrlRows): Uint8Array {
  const columns: ParquetColumn[] = rows.columns.map((name) => ({
    name,
    data: rows.records.map((r) => r[name]),
    type: name === 'text' ? 'STRING' : 'MESSAGES',
  }));
  return parquetBytes(columns);
}
