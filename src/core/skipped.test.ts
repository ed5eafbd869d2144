import { describe, expect, it } from 'vitest';
import { formatSkipped } from './skipped.ts';

const rows = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    source: { file: 'data.jsonl', line: i + 1 },
    reason: `messages[${i}].role: expected system, user, assistant, tool, got "wizard"`,
  }));

describe('formatSkipped(skipped)', () => {
  it('lists the first 10 with file:line and reason, then counts the rest', () => {
    const lines = formatSkipped(rows(1244)).trimEnd().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe(
      'finemed: skipped data.jsonl:1: messages[0].role: expected system, user, assistant, tool, got "wizard"',
    );
    expect(lines[9]).toMatch(/^finemed: skipped data\.jsonl:10: messages\[9\]/);
    expect(lines[10]).toBe('finemed: ... and 1,234 more skipped rows');
  });

  it('names keyed records by key, counts a total it only has a sample of, and is empty for none', () => {
    const keyed = [{ source: { file: 'pqal.json', key: '9001' }, reason: 'CONTEXTS: missing' }];
    expect(formatSkipped(keyed)).toBe('finemed: skipped pqal.json: key 9001: CONTEXTS: missing\n');
    expect(formatSkipped(rows(2), { total: 3 }).split('\n').at(-2)).toBe(
      'finemed: ... and 1 more skipped row',
    );
    expect(formatSkipped([])).toBe('');
    expect(formatSkipped(rows(3), { shown: 3 }).split('\n')).toHaveLength(4);
  });
});
