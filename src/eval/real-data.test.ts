import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataDir } from '../core/shared-data.ts';
import { functionGenerator, functionScorer } from './fixtures/models.ts';
import { loadBenchmark } from './loaders/load.ts';
import { evaluate } from './run.ts';

const dir = sharedDataDir();
const reason = 'no ../shared/data on this machine (set FINEMED_SHARED_DATA to run these)';
const bench = (path: string): string => join(dir ?? '', 'benchmarks', path);

// A model that always prefers the first option scores exactly the share of items whose
// answer is the first option, which the loader tests count independently.
const firstOption = functionScorer(({ continuation }) =>
  continuation === ' A' || continuation === ' yes' ? -1 : -3,
);

describe.skipIf(!dir)(
  `evaluate() on the real benchmark files (${dir ? 'present' : reason})`,
  () => {
    it('loglik: an always-first-option model scores the first-option share exactly', async () => {
      const cases = [
        ['medqa/us4_sample.jsonl', 'medqa', 44, 150],
        ['medmcqa/dev_sample.jsonl', 'medmcqa', 91, 300],
        ['pubmedqa/pqal_dev.json', 'pubmedqa', 276, 500],
        ['mmlu_medical/anatomy_test.csv', 'mmlu', 25, 135],
      ] as const;
      for (const [path, format, right, n] of cases) {
        const loaded = await loadBenchmark(bench(path), format);
        const { summary } = await evaluate(loaded, { key: 'first', scorer: firstOption });
        expect([summary.n_scored, summary.accuracy]).toEqual([n, right / n]);
        const [lo, hi] = summary.ci95 as [number, number];
        expect(lo).toBeLessThan(right / n);
        expect(hi).toBeGreaterThan(right / n);
      }
    });

    it('generate: an oracle that states the answer scores 100% on MMLU-Pro, by subject too', async () => {
      const loaded = await loadBenchmark(bench('mmlu_pro_health/health_sample.jsonl'), 'mmlupro');
      const byQuestion = new Map(loaded.items.map((i) => [i.question.trim(), i.answerIndex]));
      const generator = functionGenerator((messages) => {
        const text = messages[messages.length - 1].content;
        const question = text.slice('Question: '.length, text.indexOf('\nOptions:'));
        const letter = String.fromCharCode(65 + (byQuestion.get(question) ?? 25));
        return `Let me reason about each option. The answer is (${letter}).`;
      });
      const { summary } = await evaluate(
        loaded,
        { key: 'oracle', generator },
        { mode: 'generate', chainOfThought: true, shots: 2 },
      );
      expect([summary.n_scored, summary.accuracy, summary.n_unparseable]).toEqual([100, 1, 0]);
      expect(summary.by_subject.every((s) => s.accuracy === 1)).toBe(true);
      expect(summary.by_subject.reduce((n, s) => n + s.n, 0)).toBe(100);
    });
  },
);
