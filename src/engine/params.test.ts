import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { ParamSet } from './params.ts';
import type { WeightsSource } from './weights.ts';

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

describe('ParamSet: released frozen values', () => {
  const specs = [
    { name: 'w', shape: [40] },
    { name: 'a', shape: [3] },
  ];
  const values = (name: string, n: number) =>
    Float32Array.from({ length: n }, (_, i) => (name === 'w' ? i + 0.5 : -i));

  /** A set read from a fake source, counting reads; `fail` makes the source refuse. */
  function loaded(): { set: ParamSet; reads: string[]; source: WeightsSource & { fail?: string } } {
    const reads: string[] = [];
    const source: WeightsSource & { fail?: string } = {
      label: 'fake-folder',
      readSync(name, dest) {
        if (this.fail) throw new Error(this.fail);
        reads.push(name);
        dest.set(values(name, dest.length));
      },
    };
    const set = new ParamSet(specs);
    for (const s of specs) source.readSync(s.name, set.view(s.name));
    reads.length = 0;
    set.adoptSource(source);
    return { set, reads, source };
  }

  /** A LoRA-like set: `w` frozen, adopted from `base`; `a` and `lora` trainable. */
  function lora(base: ParamSet): ParamSet {
    const set = new ParamSet([
      { name: 'w', shape: [40], trainable: false },
      { name: 'a', shape: [3] },
      { name: 'lora', shape: [2] },
    ]);
    set.copyFrom(base);
    return set;
  }

  it('copyFrom adopts unwritten frozen values released; view() and data re-read them, storage does not', () => {
    const { set: base, reads } = loaded();
    const p = lora(base);
    expect(p.releasedParams).toBe(1);
    expect(Array.from(p.view('a'))).toEqual([-0, -1, -2]);
    expect(p.storage.subarray(0, 40).every((x) => x === 0)).toBe(true);
    expect(reads).toEqual([]);
    expect(Array.from(p.view('w'))).toEqual(Array.from(values('w', 40)));
    expect(reads).toEqual(['w']);
    expect(p.releasedParams).toBe(0);
    expect(p.data[39]).toBe(39.5);
  });

  it('a frozen value written since it was read is copied, not adopted', () => {
    const { set: base } = loaded();
    base.fill('w', 7);
    const p = lora(base);
    expect(p.releasedParams).toBe(0);
    expect(p.view('w')[0]).toBe(7);
  });

  it('files() reads released values into buffers of their own, which releaseFiles() frees', () => {
    const { set: base, reads } = loaded();
    const p = lora(base);
    p.fill('lora', 3);
    const files = p.files();
    expect(reads).toEqual(['w']);
    expect(p.releasedParams).toBe(1);
    const floats = new Float32Array(files[0].data.buffer);
    expect(floats[p.entry('w').offset + 2]).toBe(2.5);
    expect(floats[p.entry('lora').offset]).toBe(3);
    p.releaseFiles(files);
    expect(files[0].data.byteLength).toBe(0);
    expect(p.locate('w')).toEqual({
      file: 'finemed-weights-0.bin',
      dtype: 'float32',
      byteOffset: 0,
      shape: [40],
    });
  });

  it('setTrainable on a released value re-reads it first (optimizers update storage)', () => {
    const { set: base } = loaded();
    const p = lora(base);
    p.setTrainable((e) => e.name === 'w', true);
    expect(p.releasedParams).toBe(0);
    expect(p.storage[1]).toBe(1.5);
  });

  it('a failed re-read names the operation, the parameter and the source', () => {
    const { set: base, source } = loaded();
    const p = lora(base);
    source.fail = 'the file changed';
    expect(() => p.view('w')).toThrow(
      "ParamSet.view('w'): 'w' was released (held by the sessions only) and re-reading it from fake-folder failed: the file changed",
    );
    expect(() => p.snapshot()).toThrow(/^ParamSet.data: 'w' was released/);
    expect(() => p.files()).toThrow(/^ParamSet.files: 'w' was released/);
  });

  it('freeArena() frees a releasable arena now; later uses fail naming the operation and why', () => {
    const saved = ParamSet.releasableBytes;
    ParamSet.releasableBytes = 0;
    try {
      const p = ParamSet.releasable(specs);
      const w = p.view('w');
      expect(p.freeArena('replaced in a test')).toBe(true);
      expect(w.length).toBe(0);
      expect(() => p.view('a')).toThrow(
        "ParamSet.view('a'): this parameter set's arena was freed (replaced in a test)",
      );
      expect(() => p.data).toThrow(/^ParamSet.data: .*freed/);
      expect(p.freeArena('again')).toBe(false);
      expect(new ParamSet(specs).freeArena('not releasable')).toBe(false);
    } finally {
      ParamSet.releasableBytes = saved;
    }
  });
});
