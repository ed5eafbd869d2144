/** Words too common to say anything about relevance (a short English list). */
const STOPWORDS = new Set(
  (
    'a an and are as at be been being but by can could did do does for from had has have he her his how i if in into ' +
    'is it its may me might my no not of on or our she should so than that the their them then there these they this ' +
    'those to was we were what when where which who whom why will with would you your'
  ).split(' '),
);

/**
 * Terms of a text for BM25: lowercased letter/digit runs, stopwords dropped, a plural `s`
 * stripped from longer words (`symptoms` matches `symptom`, `glass` stays).
 */
export function bm25Terms(text: string): string[] {
  const words =
    text
      .toLowerCase()
      .normalize('NFKC')
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  const terms: string[] = [];
  for (const word of words) {
    if (STOPWORDS.has(word)) continue;
    terms.push(
      word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word,
    );
  }
  return terms;
}

/** BM25 parameters. */
export interface Bm25Options {
  /** Term-frequency saturation (default 1.2). */
  k1?: number;
  /** Length normalization (default 0.75). */
  b?: number;
}

/** A scored document. */
export interface Hit {
  /** Index of the document in the indexed list. */
  index: number;
  /** Its score (higher is nearer). */
  score: number;
}

/** A serialized {@link Bm25Index}. */
export interface Bm25Json {
  /** Format tag. */
  kind: 'bm25';
  /** Saturation parameter. */
  k1: number;
  /** Length normalization. */
  b: number;
  /** Term count of each document. */
  lengths: number[];
  /** Postings: term -> flat `[doc, tf, doc, tf, ...]`. */
  postings: Record<string, number[]>;
}

/**
 * Okapi BM25 over an in-memory inverted index, with Lucene's non-negative idf
 * `ln(1 + (N - df + 0.5) / (df + 0.5))`. Ties rank the earlier document first.
 */
export class Bm25Index {
  private constructor(
    private readonly k1: number,
    private readonly b: number,
    private readonly lengths: number[],
    private readonly postings: Map<string, number[]>,
  ) {}

  /** Indexes texts. */
  static build(texts: readonly string[], options: Bm25Options = {}): Bm25Index {
    const postings = new Map<string, number[]>();
    const lengths = texts.map((text, doc) => {
      const terms = bm25Terms(text);
      const counts = new Map<string, number>();
      for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1);
      for (const [t, tf] of counts) {
        const list = postings.get(t);
        if (list) list.push(doc, tf);
        else postings.set(t, [doc, tf]);
      }
      return terms.length;
    });
    return new Bm25Index(options.k1 ?? 1.2, options.b ?? 0.75, lengths, postings);
  }

  /** Restores an index from {@link Bm25Index.toJSON}. */
  static fromJSON(json: Bm25Json): Bm25Index {
    return new Bm25Index(json.k1, json.b, json.lengths, new Map(Object.entries(json.postings)));
  }

  /** Documents indexed. */
  get size(): number {
    return this.lengths.length;
  }

  /** The index as JSON. */
  toJSON(): Bm25Json {
    return {
      kind: 'bm25',
      k1: this.k1,
      b: this.b,
      lengths: this.lengths,
      postings: Object.fromEntries(this.postings),
    };
  }

  /** Every document's score for a query (0 for documents sharing no term). */
  scores(query: string): Float64Array {
    const n = this.lengths.length;
    const avg = this.lengths.reduce((a, b) => a + b, 0) / Math.max(1, n);
    const scores = new Float64Array(n);
    for (const term of new Set(bm25Terms(query))) {
      const list = this.postings.get(term);
      if (!list) continue;
      const df = list.length / 2;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      for (let i = 0; i < list.length; i += 2) {
        const doc = list[i];
        const tf = list[i + 1];
        const norm = this.k1 * (1 - this.b + (this.b * this.lengths[doc]) / Math.max(avg, 1e-9));
        scores[doc] += (idf * tf * (this.k1 + 1)) / (tf + norm);
      }
    }
    return scores;
  }

  /** The `k` best documents with a positive score, best first. */
  search(query: string, k: number): Hit[] {
    return topK(this.scores(query), k, 0);
  }
}

/** The `k` largest entries above `floor`, largest first, earlier index first on ties. */
export function topK(scores: ArrayLike<number>, k: number, floor = -Infinity): Hit[] {
  const hits: Hit[] = [];
  for (let i = 0; i < scores.length; i++)
    if (scores[i] > floor) hits.push({ index: i, score: scores[i] });
  hits.sort((a, b) => b.score - a.score || a.index - b.index);
  return hits.slice(0, k);
}
