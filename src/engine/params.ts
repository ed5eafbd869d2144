import type { Rng } from '../core/rng.ts';
import { numel } from './dims.ts';
import type { Graph } from './graph.ts';
import { OrtTensorClass, type OrtTensor } from './session.ts';
import {
  WEIGHTS_FILE_BYTES,
  type FrozenWeights,
  type WeightLocation,
  type WeightsFile,
} from './weights.ts';

/** A parameter to lay out in a {@link ParamSet}. */
export interface ParamSpec {
  /** Unique name, e.g. `model.embed_tokens.weight`. */
  name: string;
  /** Static shape. */
  shape: readonly number[];
  /** Whether optimizers update it (default true). */
  trainable?: boolean;
}

/** Where one parameter lives in the arena. */
export interface ParamEntry {
  /** Parameter name. */
  readonly name: string;
  /** Static shape. */
  readonly shape: readonly number[];
  /** Element count. */
  readonly size: number;
  /** First element's index in the arena. */
  readonly offset: number;
  /** Whether optimizers update it. */
  trainable: boolean;
}

/** Offsets are multiples of 16 floats (64 bytes): cache-line and SIMD aligned. */
const ALIGN = 16;

// Process-wide counters: a set's id, and the stamp of each tracked write (never reused, so
// the newest stamp among some entries identifies their contents; see weightsKey).
let nextSetId = 1;
let nextWrite = 1;

/**
 * Named float32 tensors in one flat arena, each a view. One arena makes whole-model copies,
 * snapshots and optimizer sweeps single passes, and feeds ORT without copying. Gradients and
 * optimizer moments use arenas with the same layout ({@link ParamSet.zerosLike}).
 *
 * A ParamSet is also a source of frozen weights for sessions ({@link FrozenWeights}): its
 * arena is the external-data file, and each entry carries the stamp of its last tracked write
 * (this class's mutators, optimizer steps, {@link markWeightsChanged}), so a session can tell
 * when the weights it copied are out of date.
 */
export class ParamSet implements FrozenWeights {
  /** Entries in layout order. */
  readonly entries: readonly ParamEntry[];
  /** The arena (alignment gaps between parameters stay zero). */
  readonly data: Float32Array;
  private readonly byName = new Map<string, ParamEntry>();
  private readonly views = new Map<string, Float32Array>();
  private readonly tensors = new Map<string, OrtTensor>();
  /** Unique per set in this process. */
  private readonly id = nextSetId++;
  /** Per entry (layout order): the stamp of its last tracked write, 0 if never written. */
  private readonly stamps: Float64Array;
  private readonly snapshotStamps = new WeakMap<Float32Array, Float64Array>();
  private readonly indexByName = new Map<string, number>();

  /**
   * Lays out `specs` in order; `data` (an arena of the right length) is adopted if given.
   * Sets made by {@link ParamSet.zerosLike} share their entries, so trainable flags agree.
   */
  constructor(
    specs: readonly ParamSpec[],
    data?: Float32Array,
    sharedEntries?: readonly ParamEntry[],
  ) {
    let offset = 0;
    const entries: ParamEntry[] = [];
    for (const [i, s] of specs.entries()) {
      if (this.byName.has(s.name)) throw new Error(`ParamSet: duplicate parameter '${s.name}'`);
      const entry = sharedEntries?.[i] ?? {
        name: s.name,
        shape: [...s.shape],
        size: numel(s.shape),
        offset,
        trainable: s.trainable ?? true,
      };
      entries.push(entry);
      this.byName.set(s.name, entry);
      this.indexByName.set(s.name, i);
      offset += Math.ceil(entry.size / ALIGN) * ALIGN;
    }
    this.entries = entries;
    if (data && data.length !== offset) {
      throw new Error(`ParamSet: arena has ${data.length} floats, layout needs ${offset}`);
    }
    this.data = data ?? new Float32Array(offset);
    this.stamps = new Float64Array(entries.length);
  }

  /** A set laid out for a graph's declared parameters, with their trainable flags (frozen: not). */
  static fromGraph(graph: Graph): ParamSet {
    return new ParamSet(
      graph.params.map((p) => ({ name: p.name, shape: p.shape, trainable: p.trainable })),
    );
  }

  /** A zero-filled set with the same layout and shared trainable flags (gradients). */
  static zerosLike(other: ParamSet): ParamSet {
    return new ParamSet(other.entries, undefined, other.entries);
  }

  /** Total parameter count (without alignment gaps). */
  get count(): number {
    return this.entries.reduce((s, e) => s + e.size, 0);
  }

  /** Trainable parameter count. */
  get trainableCount(): number {
    return this.entries.reduce((s, e) => s + (e.trainable ? e.size : 0), 0);
  }

  /** Whether a parameter of this name exists. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The entry for `name`, or throws. */
  entry(name: string): ParamEntry {
    const e = this.byName.get(name);
    if (!e) throw new Error(`ParamSet: no parameter '${name}'`);
    return e;
  }

  /** A Float32Array view of one parameter (writes go straight into the arena). */
  view(name: string): Float32Array {
    let v = this.views.get(name);
    if (!v) {
      const e = this.entry(name);
      v = this.data.subarray(e.offset, e.offset + e.size);
      this.views.set(name, v);
    }
    return v;
  }

  /** An ORT tensor over one parameter's view (no copy; reused between calls). */
  tensor(name: string): OrtTensor {
    let t = this.tensors.get(name);
    if (!t) {
      t = new OrtTensorClass('float32', this.view(name), this.entry(name).shape as number[]);
      this.tensors.set(name, t);
    }
    return t;
  }

  /** ORT feeds for every parameter (or those named). */
  feeds(names: readonly string[] = this.entries.map((e) => e.name)): Record<string, OrtTensor> {
    return Object.fromEntries(names.map((n) => [n, this.tensor(n)]));
  }

  /** Sets the trainable flag of the parameters `select` accepts. */
  setTrainable(select: (entry: ParamEntry) => boolean, trainable: boolean): void {
    for (const e of this.entries) if (select(e)) e.trainable = trainable;
  }

  /**
   * Arena index ranges `[start, end)` covering the trainable parameters (that `select` also
   * accepts), adjacent ones merged, each running to the next parameter's aligned offset.
   */
  trainableRanges(select: (entry: ParamEntry) => boolean = () => true): [number, number][] {
    const ranges: [number, number][] = [];
    this.entries.forEach((e, i) => {
      if (!e.trainable || !select(e)) return;
      const end = i + 1 < this.entries.length ? this.entries[i + 1].offset : this.data.length;
      const last = ranges[ranges.length - 1];
      if (last && last[1] === e.offset) last[1] = end;
      else ranges.push([e.offset, end]);
    });
    return ranges;
  }

  /** A copy of the whole arena (one memcpy). */
  snapshot(): Float32Array {
    const copy = this.data.slice();
    this.snapshotStamps.set(copy, this.stamps.slice());
    return copy;
  }

  /**
   * Restores a {@link snapshot} bit-exactly (one memcpy). A snapshot of this set also brings
   * back its write stamps, so sessions built from those weights (TTT's base model) stay valid.
   */
  restore(snapshot: Float32Array): void {
    if (snapshot.length !== this.data.length)
      throw new Error('ParamSet.restore: snapshot has a different layout');
    this.data.set(snapshot);
    const stamps = this.snapshotStamps.get(snapshot);
    if (stamps) this.stamps.set(stamps);
    else this.markWeightsChanged();
  }

  /** Copies the values of every parameter `other` also has (by name). */
  copyFrom(other: ParamSet): void {
    for (const e of this.entries) if (other.has(e.name)) this.view(e.name).set(other.view(e.name));
    this.markWeightsChanged((e) => other.has(e.name));
  }

  /** Fills one parameter with a constant. */
  fill(name: string, value: number): void {
    this.view(name).fill(value);
    this.markWeightsChanged((e) => e.name === name);
  }

  /** Fills one parameter with normal draws (mean 0). */
  fillNormal(name: string, rng: Rng, std: number): void {
    rng.fillNormal(this.view(name), std);
    this.markWeightsChanged((e) => e.name === name);
  }

  /** Zeroes the arena. */
  zero(): void {
    this.data.fill(0);
    this.markWeightsChanged();
  }

  /**
   * Records a write to the parameters `select` accepts (default all). This class's mutators
   * and the optimizers call it; code that writes through {@link view} or {@link data} after a
   * session was created from these weights must call it too.
   */
  markWeightsChanged(select: (entry: ParamEntry) => boolean = () => true): void {
    const stamp = nextWrite++;
    this.entries.forEach((e, i) => {
      if (select(e)) this.stamps[i] = stamp;
    });
  }

  /**
   * The identity and version of the named parameters' values (default: every one): the set's
   * id and the newest write stamp among them. Writes elsewhere in the arena leave it unchanged.
   */
  weightsKey(names?: readonly string[]): string {
    let newest = 0;
    if (names) for (const n of names) newest = Math.max(newest, this.stamps[this.index(n)]);
    else for (const s of this.stamps) newest = Math.max(newest, s);
    return `params#${this.id}@${newest}`;
  }

  /**
   * The arena as external-data files (views, no copy) sessions copy frozen weights from: runs
   * of whole parameters of up to {@link ParamSet.weightsFileBytes} (a larger one alone).
   */
  files(): readonly WeightsFile[] {
    return this.fileLayout().files;
  }

  /** Where a parameter lies among {@link files}, or undefined when absent. */
  locate(name: string): WeightLocation | undefined {
    const i = this.indexByName.get(name);
    if (i === undefined) return undefined;
    const e = this.entries[i];
    const { files, firstFloat, fileOf } = this.fileLayout();
    const k = fileOf[i];
    return {
      file: files[k].path,
      dtype: 'float32',
      byteOffset: (e.offset - firstFloat[k]) * 4,
      shape: e.shape,
    };
  }

  /** Where {@link files} splits arenas (a static so tests can split small sets). */
  static weightsFileBytes = WEIGHTS_FILE_BYTES;

  private layout?: { files: WeightsFile[]; firstFloat: number[]; fileOf: number[] };

  private fileLayout(): { files: WeightsFile[]; firstFloat: number[]; fileOf: number[] } {
    if (this.layout) return this.layout;
    const maxFloats = ParamSet.weightsFileBytes / 4;
    const firstFloat: number[] = [];
    const fileOf = this.entries.map((e) => {
      const start = firstFloat[firstFloat.length - 1];
      if (start === undefined || e.offset + e.size - start > maxFloats) firstFloat.push(e.offset);
      return firstFloat.length - 1;
    });
    const files = firstFloat.map((start, k) => {
      const end = firstFloat[k + 1] ?? this.data.length;
      const bytes = this.data.subarray(start, end);
      return {
        path: `finemed-weights-${k}.bin`,
        data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      };
    });
    this.layout = { files, firstFloat, fileOf };
    return this.layout;
  }

  private index(name: string): number {
    const i = this.indexByName.get(name);
    if (i === undefined) throw new Error(`ParamSet: no parameter '${name}'`);
    return i;
  }
}
