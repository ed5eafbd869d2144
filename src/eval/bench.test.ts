import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { benchEval, cycleItems } from './bench.ts';
import { functionGenerator, functionScorer } from './fixtures/models.ts';
import { loadBenchmark } from './loaders/load.ts';

const fixture = (name: string): string =>
  join(fileURLToPath(import.meta.url), '..', 'fixtures', name);

describe('cycleItems(items, count)', () => {
  it('repeats items round-robin with unique ids', async () => {
    const { items } = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
    expect(cycleItems(items, 7).map((i) => i.id)).toEqual([
      'L1',
      'L2',
      'L4',
      'L1#1',
      'L2#1',
      'L4#1',
      'L1#2',
    ]);
  });
});

describe('benchEval(model, bench, opts)', () => {
  it('warms up on one item, then times the requested items in both modes', async () => {
    const bench = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
    const scorer = functionScorer(() => -1);
    const generator = functionGenerator(() => 'The answer is (A).');
    const result = await benchEval({ key: 'fixture', scorer, generator }, bench, {
      items: 5,
      maxTokens: 7,
    });
    expect([result.loglik?.items, result.generate?.items, result.generate?.max_tokens]).toEqual([
      5, 5, 7,
    ]);
    expect(scorer.calls).toHaveLength(1 + 5);
    expect(generator.calls).toHaveLength(1 + 5);
    expect(generator.calls.every((c) => c[0].maxTokens === 7)).toBe(true);
    expect(result.loglik?.items_per_s).toBeGreaterThan(0);
    expect(result.loglik?.cpu_per_wall).toBeGreaterThanOrEqual(0);
  });

  it('times only the modes asked for', async () => {
    const bench = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
    const scorer = functionScorer(() => -1);
    const generator = functionGenerator(() => 'The answer is (A).');
    const result = await benchEval({ key: 'fixture', scorer, generator }, bench, {
      items: 3,
      maxTokens: 7,
      modes: ['loglik'],
    });
    expect([result.loglik?.items, result.generate]).toEqual([3, undefined]);
    expect([scorer.calls.length, generator.calls.length]).toEqual([1 + 3, 0]);
  });
});
