import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { columnTypeText } from './parquet-testing.ts';
import { inferColumnType, isMessageList, parquetBytes } from './parquet.ts';

describe('parquetBytes', () => {
  const messages = [
    [
      { role: 'user', content: 'What lowers blood pressure?' },
      { role: 'assistant', content: 'Less salt — and é, ü survive.' },
    ],
    [
      { role: 'system', content: 's' },
      { role: 'user', content: 'q' },
      { role: 'assistant', content: '' },
    ],
    null,
  ];

  it('stores conversations as list<struct<role, content>> and reads them back unchanged', async () => {
    const bytes = parquetBytes([
      { name: 'messages', data: messages },
      { name: 'id', data: ['a', 'b', 'c'] },
      { name: 'meta', data: [{ x: 1 }, null, { y: [2] }] },
    ]);
    expect(columnTypeText(bytes, 'messages')).toBe('list<struct<role: string, content: string>>');
    expect(columnTypeText(bytes, 'meta')).toBe('BYTE_ARRAY/JSON');
    const rows = await parquetReadObjects({ file: bytes.buffer as ArrayBuffer });
    expect(rows.map((r) => r.messages)).toEqual([messages[0], messages[1], undefined]);
    expect(rows.map((r) => r.meta)).toEqual([{ x: 1 }, null, { y: [2] }]);
  });

  it('keeps other nested values as JSON: a message with an extra field is not a conversation', () => {
    expect(isMessageList([{ role: 'user', content: 'x' }])).toBe(true);
    expect(isMessageList([{ role: 'user', content: 'x', name: 'n' }])).toBe(false);
    expect(inferColumnType([[{ role: 'user', content: 1 }]])).toBe('JSON');
    expect(inferColumnType([1, 2.5])).toBe('DOUBLE');
  });
});
