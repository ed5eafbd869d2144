import { parquetMetadata, parquetSchema } from 'hyparquet';

/** For tests: a Parquet column's schema as `list<struct<a: T, b: T>>`-style text, read back from the file. */
export function columnTypeText(bytes: Uint8Array, column: string): string {
  const tree = parquetSchema(parquetMetadata(bytes.buffer as ArrayBuffer));
  const node = tree.children.find((c) => c.element.name === column);
  if (!node) throw new Error(`no column ${column}`);
  const text = (n: typeof node): string => {
    const e = n.element;
    if (e.converted_type === 'LIST') return `list<${text(n.children[0].children[0])}>`;
    if (n.children.length > 0)
      return `struct<${n.children.map((c) => `${c.element.name}: ${text(c)}`).join(', ')}>`;
    return e.converted_type === 'UTF8'
      ? 'string'
      : `${e.type}${e.converted_type ? `/${e.converted_type}` : ''}`;
  };
  return text(node);
}
