import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataDir } from '../../core/shared-data.ts';
import { readJsonlRecords } from '../examples.ts';
import { Bm25Index, bm25Terms, topK } from './bm25.ts';

describe('bm25Terms(text)', () => {
  it('lowercases, drops stopwords and strips plural s from longer words', () => {
    expect(bm25Terms('The Symptoms of Glass-Lung are: coughs, FEVER and 2 rashes.')).toEqual([
      'symptom',
      'glass',
      'lung',
      'cough',
      'fever',
      '2',
      'rashe',
    ]);
  });
});

describe('Bm25Index', () => {
  const docs = ['fever fever rash', 'cough', 'fever cough cough cough'];
  const index = Bm25Index.build(docs, { k1: 1.2, b: 0.75 });

  it('scores as Okapi BM25 with Lucene’s idf, computed by hand', () => {
    const n = 3;
    const avg = (3 + 1 + 4) / 3;
    const idf = (df: number): number => Math.log(1 + (n - df + 0.5) / (df + 0.5));
    const term = (tf: number, len: number, df: number): number =>
      (idf(df) * tf * 2.2) / (tf + 1.2 * (1 - 0.75 + (0.75 * len) / avg));
    const scores = index.scores('fever and cough');
    expect(scores[0]).toBeCloseTo(term(2, 3, 2), 12);
    expect(scores[1]).toBeCloseTo(term(1, 1, 2), 12);
    expect(scores[2]).toBeCloseTo(term(1, 4, 2) + term(3, 4, 2), 12);
  });

  it('ranks best first, leaves out documents sharing no term, and survives JSON', () => {
    expect(index.search('rash', 3).map((h) => h.index)).toEqual([0]);
    expect(index.search('cough', 2).map((h) => h.index)).toEqual([2, 1]);
    const copy = Bm25Index.fromJSON(JSON.parse(JSON.stringify(index.toJSON())));
    expect(Array.from(copy.scores('fever cough'))).toEqual(Array.from(index.scores('fever cough')));
    expect(copy.size).toBe(3);
  });
});

describe('topK(scores, k, floor)', () => {
  it('keeps the k largest above the floor, earlier first on ties', () => {
    expect(topK([0.5, 2, 2, 0, 1], 3, 0)).toEqual([
      { index: 1, score: 2 },
      { index: 2, score: 2 },
      { index: 4, score: 1 },
    ]);
  });
});

describe('Bm25Index on the shared MedlinePlus corpus', () => {
  const dir = sharedDataDir();
  it.skipIf(!dir)(
    `finds a health topic from its name alone for most topics${dir ? '' : ' (skipped: ../shared/data is absent)'}`,
    async () => {
      const records = await readJsonlRecords(join(dir!, 'corpus', 'medlineplus_topics.jsonl'));
      const rows = records.map(
        (r) => r.value as { focus: string; question: string; answer: string },
      );
      const index = Bm25Index.build(rows.map((r) => `${r.question}\n${r.answer}`));
      const found = rows.filter((r) => {
        const [best] = index.search(r.focus, 1);
        return best !== undefined && rows[best.index].focus === r.focus;
      });
      expect(rows.length).toBeGreaterThan(900);
      expect(found.length / rows.length).toBeGreaterThan(0.85);
    },
  );
});
