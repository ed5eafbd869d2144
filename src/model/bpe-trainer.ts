import { CancelledError } from '../core/errors.ts';
import { ProgressTracker, type ProgressSink } from '../core/progress.ts';

/**
 * Qwen2's pre-tokenizer split (GPT-4 style, digits one at a time), written for JavaScript:
 * the contraction group is spelled out because Node 20 lacks `(?i:...)`. tokenizer.json
 * carries the original Oniguruma form, which both Hugging Face tokenizers and
 * @huggingface/tokenizers read.
 */
const SPLIT_PATTERN_JS =
  /'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** The same pattern as Qwen2's tokenizer.json spells it. */
export const SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** GPT-2's byte -> printable character table, shared by every byte-level BPE. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable.includes(b) ? b : 256 + extra++);
  }
  return table;
})();

/** Options for {@link trainByteLevelBpe}. */
export interface BpeTrainOptions {
  /** Final vocabulary size, special tokens and the 256 byte symbols included. */
  vocabSize: number;
  /** Tokens that are never split (ids 0..n-1, in this order), e.g. `<|endoftext|>`. */
  specialTokens: string[];
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
  /** Receives progress while merging. */
  onProgress?: ProgressSink;
  /** Stops training with a CancelledError. */
  signal?: AbortSignal;
}

/** A trained byte-level BPE model. */
export interface TrainedBpe {
  /** Token strings by id (byte-level alphabet), special tokens first. */
  vocab: string[];
  /** Merge rules in priority order, as pairs of token strings. */
  merges: [string, string][];
  /** The special tokens (also the first entries of `vocab`). */
  specialTokens: string[];
}

/** The words a trained tokenizer splits `text` into before BPE (NFC, then {@link SPLIT_PATTERN}). */
export function preTokenize(text: string): string[] {
  // The saved tokenizer NFC-normalizes before splitting, so training must see the same text.
  return Array.from(text.normalize('NFC').matchAll(SPLIT_PATTERN_JS), (m) => m[0]);
}

/** Counts the pre-tokenized words of texts (what BPE training actually iterates over). */
export function countWords(
  texts: Iterable<string>,
  counts = new Map<string, number>(),
): Map<string, number> {
  for (const text of texts) {
    for (const word of preTokenize(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/** Symbol ids are below 2^21, so a pair packs into one exact double. */
const PAIR_BASE = 2 ** 21;

/**
 * Trains a byte-level BPE on `texts`: pre-tokenize with {@link SPLIT_PATTERN}, count words,
 * then repeatedly merge the most frequent adjacent pair (ties: the pair with the smaller ids),
 * updating only the words that contain it. Deterministic for the same input.
 */
export function trainByteLevelBpe(texts: Iterable<string>, options: BpeTrainOptions): TrainedBpe {
  const minFrequency = options.minFrequency ?? 2;
  const vocab = [...options.specialTokens, ...BYTE_TO_CHAR];
  if (options.vocabSize < vocab.length) {
    throw new RangeError(
      `vocabSize ${options.vocabSize} is smaller than the ${vocab.length} base symbols`,
    );
  }
  if (options.vocabSize >= PAIR_BASE)
    throw new RangeError(`vocabSize ${options.vocabSize} is too large`);
  const idOf = new Map(vocab.map((token, id) => [token, id]));
  const byteBase = options.specialTokens.length;

  const encoder = new TextEncoder();
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [word, count] of countWords(texts)) {
    words.push(Array.from(encoder.encode(word), (b) => byteBase + b));
    freq.push(count);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  for (let w = 0; w < words.length; w++) {
    const word = words[w];
    for (let i = 0; i + 1 < word.length; i++) {
      const key = word[i] * PAIR_BASE + word[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + freq[w]);
      let set = pairWords.get(key);
      if (!set) pairWords.set(key, (set = new Set()));
      set.add(w);
    }
  }
  const heap = new PairHeap();
  for (const [key, count] of pairCount) heap.push(count, key);

  const merges: [string, string][] = [];
  const target = options.vocabSize - vocab.length;
  const tracker = new ProgressTracker('tokenizer:bpe', target, 'merges/s');
  while (vocab.length < options.vocabSize && heap.size > 0) {
    const top = heap.pop();
    const current = pairCount.get(top.key) ?? 0;
    if (current !== top.count) {
      // A stale entry: the pair's count fell since it was pushed.
      if (current > 0) heap.push(current, top.key);
      continue;
    }
    if (current < minFrequency) break;
    if (options.signal?.aborted) throw new CancelledError('tokenizer training cancelled');
    const a = Math.floor(top.key / PAIR_BASE);
    const b = top.key % PAIR_BASE;
    const merged = vocab[a] + vocab[b];
    // Different merge paths can spell the same string; they share one id, as HF's trainer does.
    let id = idOf.get(merged);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(merged);
      idOf.set(merged, id);
    }
    merges.push([vocab[a], vocab[b]]);

    const delta = new Map<number, number>();
    for (const w of pairWords.get(top.key) ?? []) {
      const word = words[w];
      const next = mergeWord(word, a, b, id);
      if (next.length === word.length) continue;
      for (let i = 0; i + 1 < word.length; i++) {
        const key = word[i] * PAIR_BASE + word[i + 1];
        delta.set(key, (delta.get(key) ?? 0) - freq[w]);
      }
      for (let i = 0; i + 1 < next.length; i++) {
        const key = next[i] * PAIR_BASE + next[i + 1];
        delta.set(key, (delta.get(key) ?? 0) + freq[w]);
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(w);
      }
      words[w] = next;
    }
    for (const [key, change] of delta) {
      if (change === 0) continue;
      const count = (pairCount.get(key) ?? 0) + change;
      if (count > 0) pairCount.set(key, count);
      else pairCount.delete(key);
      if (change > 0) heap.push(count, key);
    }
    pairCount.delete(top.key);
    pairWords.delete(top.key);
    if (options.onProgress && merges.length % 256 === 0) {
      options.onProgress(tracker.event(merges.length, 256));
    }
  }
  return { vocab, merges, specialTokens: [...options.specialTokens] };
}

function mergeWord(word: number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
      out.push(id);
      i++;
    } else {
      out.push(word[i]);
    }
  }
  return out;
}

/** A binary max-heap of (count, pair) ordered by count, then by the smaller pair key. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0], key: this.keys[0] };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.counts.length && this.before(l, best)) best = l;
        if (r < this.counts.length && this.before(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }

  private before(i: number, j: number): boolean {
    return (
      this.counts[i] > this.counts[j] ||
      (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j])
    );
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }
}

/** The `tokenizer.json` of a trained BPE, in the layout Hugging Face tokenizers writes for Qwen2. */
export function bpeTokenizerJson(bpe: TrainedBpe): Record<string, unknown> {
  const byteLevel = {
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: false,
    use_regex: false,
  };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: bpe.specialTokens.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(bpe.vocab.map((token, id) => [token, id])),
      merges: bpe.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
