import { describe, expect, it } from 'vitest';
import { Sampler, StopStrings, argmax } from './sampler.ts';

const logits = new Float32Array([1.0, 3.0, 2.5, -1.0, 2.9]);

/** Empirical frequencies of `draws` samples. */
function frequencies(sampler: Sampler, row: Float32Array, draws: number): number[] {
  const counts = new Array<number>(row.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampler.sample(row)]++;
  return counts.map((c) => c / draws);
}

const softmax = (row: ArrayLike<number>, t = 1): number[] => {
  const e = Array.from(row, (x) => Math.exp(x / t));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

describe('Sampler', () => {
  it('greedy picks the argmax, first index on ties', () => {
    expect(new Sampler().sample(logits)).toBe(1);
    expect(argmax([2, 5, 5])).toBe(1);
  });

  it('temperature sampling follows softmax(logits / T)', () => {
    const freq = frequencies(new Sampler({ temperature: 0.7, seed: 3 }), logits, 20000);
    const expected = softmax(logits, 0.7);
    for (let i = 0; i < logits.length; i++)
      expect(Math.abs(freq[i] - expected[i])).toBeLessThan(0.015);
  });

  it('top-k keeps only the k best tokens, renormalised', () => {
    const freq = frequencies(new Sampler({ temperature: 1, topK: 2, seed: 1 }), logits, 20000);
    const p = softmax([3.0, 2.9]);
    expect(freq[0] + freq[2] + freq[3]).toBe(0);
    expect(Math.abs(freq[1] - p[0])).toBeLessThan(0.015);
  });

  it('top-k selection is exact on a large row with ties', () => {
    const row = new Float32Array(5000).map((_, i) => (i * 7919) % 1000);
    const sampler = new Sampler({ temperature: 1, topK: 3, seed: 2 });
    // Value 999 occurs five times; top-3 keeps the three with the lowest ids, equally likely.
    const best = [...row.keys()].filter((i) => row[i] === 999);
    expect(best).toHaveLength(5);
    const drawn = new Set(Array.from({ length: 300 }, () => sampler.sample(row)));
    expect([...drawn].sort((a, b) => a - b)).toEqual(best.slice(0, 3));
  });

  it('top-p keeps the smallest set reaching p', () => {
    const p = softmax(logits);
    // Sorted: ids 1, 4, 2 hold p1 + p4 = 0.69 < 0.75 <= p1 + p4 + p2: exactly those three remain.
    expect(p[1] + p[4]).toBeLessThan(0.75);
    const freq = frequencies(new Sampler({ temperature: 1, topP: 0.75, seed: 5 }), logits, 20000);
    expect(freq[0] + freq[3]).toBe(0);
    expect(freq[2]).toBeGreaterThan(0.1);
  });

  it('repetition penalty divides positive and multiplies negative logits of seen tokens', () => {
    const s = new Sampler({ repetitionPenalty: 2 });
    // id 1: 3.0 -> 1.5; id 4: 2.9 stays; so 4 wins.
    expect(s.sample(logits, [1, 1])).toBe(4);
    // A negative seen logit gets worse, never better.
    expect(s.sample(new Float32Array([-1, -0.6]), [1])).toBe(0);
  });

  it('the same seed gives the same draws', () => {
    const a = new Sampler({ temperature: 1, seed: 42 });
    const b = new Sampler({ temperature: 1, seed: 42 });
    const draws = (s: Sampler): number[] => Array.from({ length: 50 }, () => s.sample(logits));
    expect(draws(a)).toEqual(draws(b));
  });

  it('rejects bad options naming them', () => {
    expect(() => new Sampler({ temperature: -1 })).toThrow(/temperature/);
    expect(() => new Sampler({ topP: 0 })).toThrow(/topP/);
    expect(() => new Sampler({ topK: 1.5 })).toThrow(/topK/);
  });
});

describe('StopStrings', () => {
  it('cuts at the earliest stop string, even when split across pushes', () => {
    const stops = new StopStrings(['</s>', '\n\nQ:']);
    let out = stops.push('Answer: B');
    out += stops.push('\n');
    expect(out).toBe('Answer: B');
    out += stops.push('\nQ');
    out += stops.push(': next');
    expect(out).toBe('Answer: B');
    expect(stops.done).toBe(true);
    expect(stops.push('more')).toBe('');
  });

  it('releases held-back text when it turns out not to be a stop', () => {
    const stops = new StopStrings(['<|im_end|>']);
    expect(stops.push('a <|im')).toBe('a ');
    expect(stops.push('age|>')).toBe('<|image|>');
    expect(stops.push('<')).toBe('');
    expect(stops.flush()).toBe('<');
  });
});
