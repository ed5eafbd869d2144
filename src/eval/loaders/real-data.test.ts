import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataDir } from '../../core/shared-data.ts';
import type { EvalItem } from '../types.ts';
import { detectFormat, loadBenchmark } from './load.ts';

const dir = sharedDataDir();
const reason = 'no ../shared/data on this machine (set FINEMED_SHARED_DATA to run these)';
const bench = (path: string): string => join(dir ?? '', 'benchmarks', path);

function expectWellFormed(items: EvalItem[]): void {
  for (const item of items) {
    expect(item.question.trim()).not.toBe('');
    expect(item.answerIndex).toBeGreaterThanOrEqual(0);
    expect(item.answerIndex).toBeLessThan(item.options.length);
    for (const option of item.options) expect(option.trim()).not.toBe('');
  }
  expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
}

describe.skipIf(!dir)(`loaders on the real benchmark files (${dir ? 'present' : reason})`, () => {
  it('loadBenchmark(medqa/us4_sample.jsonl): 150 four-option USMLE items', async () => {
    const file = bench('medqa/us4_sample.jsonl');
    const { items, skipped } = await loadBenchmark(file, 'medqa');
    expect([items.length, skipped.length]).toEqual([150, 0]);
    expectWellFormed(items);
    expect(items.every((i) => i.options.length === 4)).toBe(true);
    expect(new Set(items.map((i) => i.subject))).toEqual(new Set(['step1', 'step2&3']));
    expect(items[0].options[items[0].answerIndex]).toBe('Cholesterol embolization');
    expect(await detectFormat(file)).toBe('medqa');
  });

  it('loadBenchmark(medmcqa/dev_sample.jsonl): 300 items, cop read as 1-based', async () => {
    const file = bench('medmcqa/dev_sample.jsonl');
    const { items, skipped } = await loadBenchmark(file, 'medmcqa');
    expect([items.length, skipped.length]).toEqual([300, 0]);
    expectWellFormed(items);
    const first = items[0];
    expect(first.answerIndex).toBe(0);
    expect(first.options[0]).toMatch(/^Before performing the ABG/);
    expect(first.explanation).toMatch(/^Ans: A\./);
    expect(new Set(items.map((i) => i.subject)).size).toBe(19);
    const explicit = await loadBenchmark(file, 'medmcqa', { copBase: 1 });
    expect(explicit.items.map((i) => i.answerIndex)).toEqual(items.map((i) => i.answerIndex));
    expect(await detectFormat(file)).toBe('medmcqa');
  });

  it('loadBenchmark(pubmedqa/pqal_dev.json): 500 PMIDs with abstracts', async () => {
    const file = bench('pubmedqa/pqal_dev.json');
    const { items, skipped } = await loadBenchmark(file, 'pubmedqa');
    expect([items.length, skipped.length]).toEqual([500, 0]);
    expectWellFormed(items);
    expect(items.every((i) => /^\d+$/.test(i.id) && (i.context ?? '').length > 100)).toBe(true);
    const counts = [0, 1, 2].map((k) => items.filter((i) => i.answerIndex === k).length);
    expect(counts).toEqual([276, 169, 55]);
    expect(await detectFormat(file)).toBe('pubmedqa');
  });

  it('loadBenchmark(mmlu_medical/*.csv): anatomy 135 and medical genetics 100', async () => {
    for (const [name, count, subject] of [
      ['anatomy_test.csv', 135, 'anatomy'],
      ['medical_genetics_test.csv', 100, 'medical_genetics'],
    ] as const) {
      const file = bench(`mmlu_medical/${name}`);
      const { items, skipped } = await loadBenchmark(file, 'mmlu');
      expect([items.length, skipped.length]).toEqual([count, 0]);
      expectWellFormed(items);
      expect(items.every((i) => i.options.length === 4 && i.subject === subject)).toBe(true);
    }
    const { items } = await loadBenchmark(bench('mmlu_medical/anatomy_test.csv'), 'mmlu');
    expect(items[1].question).toBe('A "dished face" profile is often associated with');
  });

  it('loadBenchmark(mmlu_pro_health/health_sample.jsonl): 100 items with 4 to 10 options', async () => {
    const file = bench('mmlu_pro_health/health_sample.jsonl');
    const { items, skipped } = await loadBenchmark(file, 'mmlupro');
    expect([items.length, skipped.length]).toEqual([100, 0]);
    expectWellFormed(items);
    const sizes = items.map((i) => i.options.length);
    expect([Math.min(...sizes), Math.max(...sizes)]).toEqual([4, 10]);
    expect(items[0]).toMatchObject({ id: '6003', answerIndex: 8, subject: 'virology' });
    expect(await detectFormat(file)).toBe('mmlupro');
  });
});
