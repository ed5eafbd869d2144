import { words } from './text.ts';

/** How one evaluation item overlaps the training data. */
export interface ItemOverlap {
  /** The evaluation item's id. */
  id: string;
  /** Its number of word n-grams (n = the report's `n`). */
  ngrams: number;
  /** How many of them occur somewhere in the training data. */
  shared: number;
  /** `shared / ngrams`. */
  ratio: number;
  /** Length in words of the longest word sequence it shares with any training text. */
  longest: number;
}

/** The contamination check's figures. */
export interface ContaminationReport {
  /** The n-gram length (13, as in GPT-3's and the paper-era checks). */
  n: number;
  /** An item leaks when at least this share of its n-grams occurs in training. */
  threshold: number;
  /** Training texts and their total words. */
  trainTexts: number;
  /** Total words of training text. */
  trainWords: number;
  /** Evaluation items checked. */
  evalItems: number;
  /** Items sharing at least one n-gram with training. */
  itemsWithSharedNgram: number;
  /** Largest and mean `ratio`. */
  maxRatio: number;
  /** Mean `ratio` over items. */
  meanRatio: number;
  /** Longest shared word sequence over all items, and its mean. */
  maxLongest: number;
  /** Mean of the items' longest shared sequence. */
  meanLongest: number;
  /** True when a longest value is a lower bound (an item had more candidate texts than were compared). */
  longestIsLowerBound: boolean;
  /**
   * GPT-3's dirty/clean split: ids of the items sharing at least one n-gram with any training
   * text (dirty), in item order; every other item is clean.
   */
  dirty: string[];
  /** Items at or over the threshold. */
  leaks: ItemOverlap[];
  /** No item leaks. */
  passed: boolean;
}

/** Options for {@link checkContamination}. */
export interface ContaminationOptions {
  /** N-gram length; default 13. */
  n?: number;
  /** Leak threshold on an item's shared n-gram ratio; default 0.5. */
  threshold?: number;
  /** Training texts compared word by word per item for the longest shared sequence; default 24. */
  maxCandidates?: number;
}

/** A 53-bit hash of `n` token ids from `start` (two 32-bit FNV-style lanes). */
function hashGram(ids: Int32Array, start: number, n: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let k = 0; k < n; k++) {
    const x = ids[start + k];
    h1 = Math.imul(h1 ^ x, 0x01000193);
    h2 = Math.imul(h2 ^ (x + 0x9e3779b9), 0x85ebca6b);
    h2 ^= h2 >>> 13;
  }
  return (h1 >>> 0) * 2097152 + ((h2 >>> 0) & 0x1fffff);
}

/** Length of the longest common run of tokens between two sequences (dynamic programming). */
function longestCommonRun(a: Int32Array, b: Int32Array): number {
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  let best = 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : 0;
      if (cur[j] > best) best = cur[j];
    }
    [prev, cur] = [cur, prev];
  }
  return best;
}

/**
 * Checks every evaluation item against all training text: the share of the item's word
 * 13-grams found in training (through one pass over training with a hash table of the items'
 * n-grams, never pairwise string comparison) and the longest word sequence it shares with any
 * training text (exact, by comparing the item with the training texts that share its n-grams;
 * for items that share none, by descending n-gram lengths). Words are lower-cased with
 * punctuation removed. An item whose ratio reaches the threshold is a leak.
 */
export function checkContamination(
  train: Iterable<string>,
  evalItems: { id: string; text: string }[],
  options: ContaminationOptions = {},
): { report: ContaminationReport; items: ItemOverlap[] } {
  const n = options.n ?? 13;
  const threshold = options.threshold ?? 0.5;
  const maxCandidates = options.maxCandidates ?? 24;
  const vocab = new Map<string, number>();
  const encode = (text: string): Int32Array =>
    Int32Array.from(words(text), (w) => {
      let id = vocab.get(w);
      if (id === undefined) vocab.set(w, (id = vocab.size));
      return id;
    });
  const docs = [...train].map(encode);
  const items = evalItems.map((e) => encode(e.text));

  const byHash = new Map<number, number[]>();
  const windows = items.map((ids, i) => {
    const hashes: number[] = [];
    for (let s = 0; s + n <= ids.length; s++) {
      const h = hashGram(ids, s, n);
      hashes.push(h);
      const owners = byHash.get(h) ?? [];
      if (owners[owners.length - 1] !== i) owners.push(i);
      byHash.set(h, owners);
    }
    return hashes;
  });
  const found = items.map(() => new Set<number>());
  const candidates = items.map(() => new Map<number, number>());
  docs.forEach((ids, d) => {
    for (let s = 0; s + n <= ids.length; s++) {
      const owners = byHash.get(hashGram(ids, s, n));
      if (!owners) continue;
      for (const i of owners) {
        found[i].add(hashGram(ids, s, n));
        candidates[i].set(d, (candidates[i].get(d) ?? 0) + 1);
      }
    }
  });

  let lowerBound = false;
  const longest = items.map((ids, i) => {
    const ranked = [...candidates[i].entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    if (ranked.length > maxCandidates) lowerBound = true;
    return ranked
      .slice(0, maxCandidates)
      .reduce((best, [d]) => Math.max(best, longestCommonRun(ids, docs[d])), 0);
  });
  let open = items.map((_, i) => i).filter((i) => longest[i] === 0);
  for (let m = n - 1; m >= 1 && open.length > 0; m--) {
    const want = new Map<number, number[]>();
    for (const i of open) {
      for (let s = 0; s + m <= items[i].length; s++) {
        const h = hashGram(items[i], s, m);
        want.set(h, [...(want.get(h) ?? []), i]);
      }
    }
    const hit = new Set<number>();
    for (const ids of docs) {
      for (let s = 0; s + m <= ids.length; s++)
        for (const i of want.get(hashGram(ids, s, m)) ?? []) hit.add(i);
    }
    for (const i of hit) longest[i] = m;
    open = open.filter((i) => !hit.has(i));
  }

  const overlaps: ItemOverlap[] = evalItems.map((e, i) => {
    const shared = windows[i].filter((h) => found[i].has(h)).length;
    const ngrams = windows[i].length;
    return { id: e.id, ngrams, shared, ratio: ngrams ? shared / ngrams : 0, longest: longest[i] };
  });
  const leaks = overlaps.filter((o) => o.ratio >= threshold && o.shared > 0);
  const mean = (xs: number[]): number =>
    xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
  return {
    items: overlaps,
    report: {
      n,
      threshold,
      trainTexts: docs.length,
      trainWords: docs.reduce((s, d) => s + d.length, 0),
      evalItems: overlaps.length,
      itemsWithSharedNgram: overlaps.filter((o) => o.shared > 0).length,
      maxRatio: Math.max(0, ...overlaps.map((o) => o.ratio)),
      meanRatio: mean(overlaps.map((o) => o.ratio)),
      maxLongest: Math.max(0, ...overlaps.map((o) => o.longest)),
      meanLongest: mean(overlaps.map((o) => o.longest)),
      longestIsLowerBound: lowerBound,
      dirty: overlaps.filter((o) => o.shared > 0).map((o) => o.id),
      leaks,
      passed: leaks.length === 0,
    },
  };
}
