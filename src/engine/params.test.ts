import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { ParamSet } from './params.ts';

describe('ParamSet', () => {
  const specs = [
    { name: 'a', shape: [3] },
    { name: 'b', shape: [2, 5], trainable: false },
    { name: 'c', shape: [4] },
  ];

  it('lays parameters out as aligned views of one arena', () => {
    const p = new ParamSet(specs);
    expect(p.entries.map((e) => e.offset)).toEqual([0, 16, 32]);
    expect(p.count).toBe(17);
    expect(p.trainableCount).toBe(7);
    p.view('b').fill(2);
    expect(p.data[16]).toBe(2);
    expect(p.data[26]).toBe(0);
    expect(p.tensor('b').dims).toEqual([2, 5]);
    expect(p.tensor('b')).toBe(p.tensor('b'));
  });

  it('trainableRanges() merges adjacent trainable parameters and follows setTrainable', () => {
    const p = new ParamSet(specs);
    expect(p.trainableRanges()).toEqual([
      [0, 16],
      [32, 48],
    ]);
    p.setTrainable((e) => e.name === 'b', true);
    expect(p.trainableRanges()).toEqual([[0, 48]]);
  });

  it('snapshot() and restore() round-trip bit-exactly', () => {
    const p = new ParamSet(specs);
    p.fillNormal('a', new Rng(1), 1);
    const snap = p.snapshot();
    const before = Array.from(p.data);
    p.view('a').fill(NaN);
    p.restore(snap);
    expect(Array.from(p.data)).toEqual(before);
    expect(() => p.restore(new Float32Array(3))).toThrow('different layout');
  });

  it('copyFrom(other) copies shared names; zerosLike keeps the layout', () => {
    const p = new ParamSet(specs);
    p.fill('c', 3);
    const q = ParamSet.zerosLike(p);
    expect(q.data.length).toBe(p.data.length);
    q.copyFrom(p);
    expect(Array.from(q.view('c'))).toEqual([3, 3, 3, 3]);
  });
});
