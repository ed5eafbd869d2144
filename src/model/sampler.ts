import { Rng } from '../core/rng.ts';

/** How the next token is chosen from a row of logits. */
export interface SamplingOptions {
  /** 0 (default) = greedy; otherwise logits are divided by it before sampling. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or absent = all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or absent = all). */
  topP?: number;
  /** > 1 discourages tokens already in the context (Hugging Face's CTRL-style penalty). */
  repetitionPenalty?: number;
  /** Seed of the sampling stream (default 0). */
  seed?: number;
}

/** Checks sampling options, throwing a RangeError naming the bad option. */
export function validateSampling(options: SamplingOptions): void {
  const { temperature = 0, topK = 0, topP = 1, repetitionPenalty = 1 } = options;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new RangeError(`temperature must be >= 0, got ${temperature}`);
  }
  if (!Number.isInteger(topK) || topK < 0)
    throw new RangeError(`topK must be an integer >= 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`);
  if (!(repetitionPenalty > 0) || !Number.isFinite(repetitionPenalty)) {
    throw new RangeError(`repetitionPenalty must be > 0, got ${repetitionPenalty}`);
  }
}

/** The index of the largest value (the first one on ties, as torch.argmax). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * Chooses tokens from logits rows. Order of operations follows Hugging Face's
 * `generate`: repetition penalty, temperature, top-k, top-p, then a draw from the seeded stream.
 */
export class Sampler {
  private readonly rng: Rng;

  constructor(private readonly options: SamplingOptions = {}) {
    validateSampling(options);
    this.rng = new Rng(options.seed ?? 0);
  }

  /** Whether this sampler is greedy (no randomness). */
  get greedy(): boolean {
    return !this.options.temperature;
  }

  /** Picks the next token from `logits` (one vocabulary row), given the tokens in context so far. */
  sample(logits: ArrayLike<number>, context: Iterable<number> = []): number {
    const penalty = this.options.repetitionPenalty ?? 1;
    let row: ArrayLike<number> = logits;
    if (penalty !== 1) {
      const copy = Float32Array.from(logits);
      for (const id of new Set(context)) {
        copy[id] = copy[id] > 0 ? copy[id] / penalty : copy[id] * penalty;
      }
      row = copy;
    }
    if (this.greedy) return argmax(row);
    return this.draw(row, this.options.temperature!);
  }

  private draw(row: ArrayLike<number>, temperature: number): number {
    const order = this.candidates(row);
    const max = row[order[0]];
    const weights = order.map((i) => Math.exp((row[i] - max) / temperature));
    let total = weights.reduce((a, b) => a + b, 0);
    const topP = this.options.topP ?? 1;
    if (topP < 1) {
      let cumulative = 0;
      let keep = 0;
      while (keep < weights.length) {
        cumulative += weights[keep++] / total;
        if (cumulative >= topP) break;
      }
      weights.length = keep;
      total = weights.reduce((a, b) => a + b, 0);
    }
    let u = this.rng.random() * total;
    for (let k = 0; k < weights.length; k++) {
      u -= weights[k];
      if (u < 0) return order[k];
    }
    return order[weights.length - 1];
  }

  /**
   * Token ids that may be drawn, most likely first (ties by id). Sorting a 150k vocabulary per
   * token is slow, so top-k selects with a running threshold and plain temperature sampling
   * skips ordering except for the maximum.
   */
  private candidates(row: ArrayLike<number>): number[] {
    const n = row.length;
    const topK = this.options.topK ?? 0;
    const byLikelihood = (a: number, b: number): number => row[b] - row[a] || a - b;
    if (topK > 0 && topK < n) {
      let kept: number[] = [];
      let threshold = -Infinity;
      for (let i = 0; i < n; i++) {
        if (kept.length >= topK && row[i] <= threshold) continue;
        kept.push(i);
        if (kept.length >= 2 * topK) {
          kept = kept.sort(byLikelihood).slice(0, topK);
          threshold = row[kept[topK - 1]];
        }
      }
      return kept.sort(byLikelihood).slice(0, topK);
    }
    const all = Array.from({ length: n }, (_, i) => i);
    if ((this.options.topP ?? 1) < 1) return all.sort(byLikelihood);
    const best = argmax(row);
    [all[0], all[best]] = [all[best], all[0]];
    return all;
  }
}

/**
 * Watches generated text for stop strings. Text that could still become a stop string is
 * held back, so a streaming client never sees part of one.
 */
export class StopStrings {
  private pending = '';
  private stopped = false;

  constructor(private readonly stops: readonly string[]) {
    if (stops.some((s) => s.length === 0)) throw new RangeError('stop strings must not be empty');
  }

  /** Whether a stop string has been seen. */
  get done(): boolean {
    return this.stopped;
  }

  /** Adds generated text; returns the text that is safe to emit now. */
  push(text: string): string {
    if (this.stopped) return '';
    this.pending += text;
    let cut = -1;
    for (const stop of this.stops) {
      const at = this.pending.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return out;
    }
    const hold = this.heldBack();
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return out;
  }

  /** The text still held back (at the end of generation it is emitted: no stop string came). */
  flush(): string {
    const out = this.stopped ? '' : this.pending;
    this.pending = '';
    return out;
  }

  /** Length of the longest tail of `pending` that is a proper prefix of some stop string. */
  private heldBack(): number {
    let hold = 0;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, this.pending.length); k > hold; k--) {
        if (this.pending.endsWith(stop.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    return hold;
  }
}
