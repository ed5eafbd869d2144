import { parquetWriteBuffer } from 'hyparquet-writer';

/**
 * How a column is stored. `MESSAGES` is a chat conversation, `list<struct<role: string,
 * content: string>>`, which Hugging Face `datasets` loads as a list of dicts (TRL's
 * conversational format); `JSON` is any other nested value, kept as a JSON string.
 */
export type ParquetColumnType = 'STRING' | 'BOOLEAN' | 'INT32' | 'DOUBLE' | 'MESSAGES' | 'JSON';

/** One column to write. */
export interface ParquetColumn {
  /** Column name. */
  name: string;
  /** One value per row; null or undefined is a missing value. */
  data: readonly unknown[];
  /** Storage type (default: inferred by {@link inferColumnType}). */
  type?: ParquetColumnType;
}

/** Whether a value is a chat conversation: a list of `{role, content}` string pairs and nothing else. */
export function isMessageList(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every(
      (m) =>
        m !== null &&
        typeof m === 'object' &&
        !Array.isArray(m) &&
        typeof (m as Record<string, unknown>).role === 'string' &&
        typeof (m as Record<string, unknown>).content === 'string' &&
        Object.keys(m).length === 2,
    )
  );
}

/** The narrowest type that holds every present value of a column. */
export function inferColumnType(data: readonly unknown[]): ParquetColumnType {
  const present = data.filter((v) => v !== null && v !== undefined);
  if (present.every((v) => typeof v === 'string')) return 'STRING';
  if (present.every((v) => typeof v === 'boolean')) return 'BOOLEAN';
  if (present.every((v) => Number.isInteger(v) && Math.abs(v as number) < 2 ** 31)) return 'INT32';
  if (present.every((v) => typeof v === 'number')) return 'DOUBLE';
  if (present.every(isMessageList)) return 'MESSAGES';
  return 'JSON';
}

/** The subset of Parquet's SchemaElement these columns use. */
interface SchemaNode {
  name: string;
  type?: 'BYTE_ARRAY' | 'BOOLEAN' | 'INT32' | 'DOUBLE';
  converted_type?: 'UTF8' | 'JSON' | 'LIST';
  repetition_type: 'OPTIONAL' | 'REPEATED';
  num_children?: number;
}

const string = (name: string): SchemaNode => ({
  name,
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  repetition_type: 'OPTIONAL',
});

// Parquet's three-level LIST layout (as pyarrow writes it), so every reader sees a list column.
function schemaOf(name: string, type: ParquetColumnType): SchemaNode[] {
  switch (type) {
    case 'MESSAGES':
      return [
        { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
        string('role'),
        string('content'),
      ];
    case 'STRING':
      return [string(name)];
    case 'JSON':
      return [{ ...string(name), converted_type: 'JSON' }];
    case 'BOOLEAN':
      return [{ name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' }];
    case 'INT32':
      return [{ name, type: 'INT32', repetition_type: 'OPTIONAL' }];
    case 'DOUBLE':
      return [{ name, type: 'DOUBLE', repetition_type: 'OPTIONAL' }];
  }
}

/** Columns as Parquet bytes, with an explicit schema (conversations as real lists of structs). */
export function parquetBytes(columns: readonly ParquetColumn[]): Uint8Array {
  const typed = columns.map((c) => ({ ...c, type: c.type ?? inferColumnType(c.data) }));
  const schema = [
    { name: 'root', num_children: typed.length },
    ...typed.flatMap((c) => schemaOf(c.name, c.type)),
  ];
  const columnData = typed.map((c) => ({ name: c.name, data: [...c.data] }));
  return new Uint8Array(
    parquetWriteBuffer({ columnData, schema: schema as never, createdBy: 'finemed-workbench' }),
  );
}
