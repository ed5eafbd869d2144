import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBenchmark } from './load.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-choice-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads JSON Lines `records` as `format`, skipping bad rows so every reason is visible. */
async function load(format: 'medqa' | 'mmlupro', records: object[]) {
  const file = join(dir, `${format}-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const bench = await loadBenchmark(file, format, { skipBadRows: true });
  return {
    items: bench.items.map((i) => [i.id, i.options, i.answerIndex]),
    skipped: bench.skipped.map((s) => [s.source.line, s.reason]),
  };
}

describe('JSON multiple-choice records (MedQA, MMLU-Pro)', () => {
  it('reads options as a list or as lettered keys in any order, in either format', async () => {
    const lettered = { C: 'c', A: 'a', B: 'b' };
    expect(
      await load('medqa', [{ question: 'q?', options: ['a', 'b', 'c'], answer_idx: 'C' }]),
    ).toEqual({ items: [['L1', ['a', 'b', 'c'], 2]], skipped: [] });
    expect(await load('mmlupro', [{ question: 'q?', options: lettered, answer: 'B' }])).toEqual({
      items: [['L1', ['a', 'b', 'c'], 1]],
      skipped: [],
    });
  });

  it('takes a string or numeric id, and falls back to the line for a blank one', async () => {
    const item = { question: 'q?', options: ['a', 'b', 'c'], answer: 'A', answer_index: 0 };
    const { items } = await load('mmlupro', [
      { ...item, question_id: 7 },
      { ...item, question_id: 'x7' },
      { ...item, question_id: ' ' },
    ]);
    expect(items.map(([id]) => id)).toEqual(['7', 'x7', 'L3']);
    expect((await load('medqa', [{ ...item, id: 12, answer_idx: 'A' }])).items[0][0]).toBe('12');
  });

  it('names the field of a bad id, a gap in the option letters and a non-list of options', async () => {
    const { skipped } = await load('medqa', [
      { id: { n: 1 }, question: 'q?', options: ['a', 'b'], answer_idx: 'A' },
      { question: 'q?', options: { A: 'a', C: 'c' }, answer_idx: 'A' },
      { question: 'q?', options: 'a|b', answer_idx: 'A' },
    ]);
    expect(skipped).toEqual([
      [1, 'id: expected a string or a number'],
      [2, "options: option keys must run A, B, ...; found 'C'"],
      [3, 'options: expected a list of options or an object of lettered options'],
    ]);
  });
});
