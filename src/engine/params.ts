import type { Rng } from '../core/rng.ts';
import { freeArena, RELEASABLE_BYTES, releasableFloats } from './arena.ts';
import { numel } from './dims.ts';
import type { Graph } from './graph.ts';
import { OrtTensorClass, type OrtTensor } from './session.ts';
import {
  WEIGHTS_FILE_BYTES,
  type FrozenWeights,
  type WeightLocation,
  type WeightsFile,
  type WeightsSource,
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
 *
 * A set loaded from a model folder also knows its {@link WeightsSource}: frozen parameters
 * whose values still equal the source's can be held *released* (not in JS; re-read on demand),
 * which is how a LoRA set keeps one copy of a large base model, in the session (`weights.ts`).
 */
export class ParamSet implements FrozenWeights {
  /** Entries in layout order. */
  readonly entries: readonly ParamEntry[];
  private arena: Float32Array;
  private readonly byName = new Map<string, ParamEntry>();
  private readonly views = new Map<string, Float32Array>();
  private readonly tensors = new Map<string, OrtTensor>();
  /** Unique per set in this process. */
  private readonly id = nextSetId++;
  /** Per entry (layout order): the stamp of its last tracked write, 0 if never written. */
  private readonly stamps: Float64Array;
  private readonly snapshotStamps = new WeakMap<Float32Array, Float64Array>();
  private readonly indexByName = new Map<string, number>();
  /** Where released values are re-read from (see {@link adoptSource}). */
  private source?: WeightsSource;
  /** Per entry: the stamp at which its value equalled the source's (-1: never). */
  private readonly pristine: Float64Array;
  /** Per entry: 1 while its value is held only by the source (its arena range is stale). */
  private readonly released: Uint8Array;
  private releasedCount = 0;
  /** Buffers {@link files} read released values into, freed by {@link releaseFiles}. */
  private readonly transient = new Set<ArrayBufferLike>();
  /** Why the arena was freed ({@link freeArena}), once it was. */
  private freedBecause?: string;

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
    this.arena = data ?? new Float32Array(offset);
    this.stamps = new Float64Array(entries.length);
    this.pristine = new Float64Array(entries.length).fill(-1);
    this.released = new Uint8Array(entries.length);
  }

  /**
   * A set for `specs` whose arena, when large, can be freed at once by {@link freeArena}
   * instead of at V8's next collection (a model's loaded weights).
   */
  static releasable(specs: readonly ParamSpec[]): ParamSet {
    const floats = specs.reduce((n, s) => n + Math.ceil(numel(s.shape) / ALIGN) * ALIGN, 0);
    return new ParamSet(
      specs,
      floats * 4 >= ParamSet.releasableBytes ? releasableFloats(floats) : undefined,
    );
  }

  /** Where {@link releasable} starts allocating releasable arenas (a static so tests can lower it). */
  static releasableBytes = RELEASABLE_BYTES;

  /**
   * The arena (alignment gaps between parameters stay zero). Released values are re-read from
   * the source first, so every range holds its parameter's value.
   */
  get data(): Float32Array {
    this.materialize('ParamSet.data');
    return this.arena;
  }

  /**
   * The arena as it is, without re-reading released values (their ranges hold zeros or stale
   * values): for code that touches trainable ranges only, such as optimizers, so that a LoRA
   * step never brings a released base back into memory.
   */
  get storage(): Float32Array {
    this.checkLive('ParamSet.storage');
    return this.arena;
  }

  /** The arena's length in floats (layout identity for gradients and optimizer state). */
  get length(): number {
    return this.entries.length === 0 ? 0 : this.layoutFloats();
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
    if (this.releasedCount > 0 && this.released[this.index(name)])
      this.materialize(`ParamSet.view('${name}')`);
    this.checkLive(`ParamSet.view('${name}')`);
    let v = this.views.get(name);
    if (!v) {
      const e = this.entry(name);
      v = this.arena.subarray(e.offset, e.offset + e.size);
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
    // Optimizers read trainable values from `storage`, where a released range is stale.
    if (trainable && this.entries.some((e, i) => this.released[i] && select(e)))
      this.materialize('ParamSet.setTrainable');
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
      const end = i + 1 < this.entries.length ? this.entries[i + 1].offset : this.length;
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
    if (snapshot.length !== this.length)
      throw new Error('ParamSet.restore: snapshot has a different layout');
    this.data.set(snapshot);
    const stamps = this.snapshotStamps.get(snapshot);
    if (stamps) this.stamps.set(stamps);
    else this.markWeightsChanged();
  }

  /**
   * Copies the values of every parameter `other` also has (by name). A frozen parameter here
   * whose value in `other` still equals `other`'s source is not copied but adopted released
   * (re-read from that source when needed): a LoRA set over a loaded model holds no base.
   */
  copyFrom(other: ParamSet): void {
    const adopted: number[] = [];
    this.entries.forEach((e, i) => {
      if (!other.has(e.name)) return;
      const source = other.pristineSource(e.name);
      if (!e.trainable && source && (this.source ?? source) === source) {
        this.source = source;
        adopted.push(i);
      } else this.view(e.name).set(other.view(e.name));
    });
    this.markWeightsChanged((e) => other.has(e.name));
    for (const i of adopted) {
      this.pristine[i] = this.stamps[i];
      if (!this.released[i]) this.releasedCount++;
      this.released[i] = 1;
    }
  }

  /**
   * Declares that every parameter's current value is `source`'s (just read from it): values
   * that stay unwritten can later be released and re-read.
   */
  adoptSource(source: WeightsSource): void {
    this.source = source;
    this.pristine.set(this.stamps);
  }

  /** How many parameters are released (held only by the source, see {@link copyFrom}). */
  get releasedParams(): number {
    return this.releasedCount;
  }

  /**
   * Frees the arena now, when {@link releasable} made it releasable, and returns true; any
   * later use of the set then fails naming the operation and `reason`. Returns false (and
   * changes nothing) for other arenas, which the garbage collector frees once unreferenced.
   */
  freeArena(reason: string): boolean {
    if (this.freedBecause !== undefined || !freeArena(this.arena)) return false;
    this.freedBecause = reason;
    this.views.clear();
    this.tensors.clear();
    this.layout = undefined;
    return true;
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
   * of whole parameters of up to {@link ParamSet.weightsFileBytes} (a larger one alone). With
   * released parameters, fresh buffers with their values read from the source, for one
   * session to copy and {@link releaseFiles} to free.
   */
  files(): readonly WeightsFile[] {
    this.checkLive('ParamSet.files');
    if (this.releasedCount === 0) return this.fileLayout().files;
    const { firstFloat, fileOf } = this.splits();
    return firstFloat.map((start, k) => {
      const end = firstFloat[k + 1] ?? this.arena.length;
      const buffer = releasableFloats(end - start);
      buffer.set(this.arena.subarray(start, end));
      this.entries.forEach((e, i) => {
        if (fileOf[i] !== k || !this.released[i]) return;
        const at = e.offset - start;
        this.readSource(e.name, buffer.subarray(at, at + e.size), 'ParamSet.files');
      });
      this.transient.add(buffer.buffer);
      return { path: fileName(k), data: new Uint8Array(buffer.buffer) };
    });
  }

  /** Frees buffers {@link files} read released values into (see {@link FrozenWeights.releaseFiles}). */
  releaseFiles(files: readonly WeightsFile[]): void {
    for (const f of files) {
      if (this.transient.delete(f.data.buffer)) freeArena(f.data);
    }
  }

  /** Where a parameter lies among {@link files}, or undefined when absent. */
  locate(name: string): WeightLocation | undefined {
    const i = this.indexByName.get(name);
    if (i === undefined) return undefined;
    const e = this.entries[i];
    const { firstFloat, fileOf } = this.splits();
    const k = fileOf[i];
    return {
      file: fileName(k),
      dtype: 'float32',
      byteOffset: (e.offset - firstFloat[k]) * 4,
      shape: e.shape,
    };
  }

  /** Where {@link files} splits arenas (a static so tests can split small sets). */
  static weightsFileBytes = WEIGHTS_FILE_BYTES;

  private layout?: { files: WeightsFile[] };
  private split?: { firstFloat: number[]; fileOf: number[] };

  /** Where the arena splits into files: each file's first float, and each entry's file. */
  private splits(): { firstFloat: number[]; fileOf: number[] } {
    if (this.split) return this.split;
    const maxFloats = ParamSet.weightsFileBytes / 4;
    const firstFloat: number[] = [];
    const fileOf = this.entries.map((e) => {
      const start = firstFloat[firstFloat.length - 1];
      if (start === undefined || e.offset + e.size - start > maxFloats) firstFloat.push(e.offset);
      return firstFloat.length - 1;
    });
    this.split = { firstFloat, fileOf };
    return this.split;
  }

  private fileLayout(): { files: WeightsFile[] } {
    if (this.layout) return this.layout;
    const { firstFloat } = this.splits();
    const files = firstFloat.map((start, k) => {
      const bytes = this.arena.subarray(start, firstFloat[k + 1] ?? this.arena.length);
      return {
        path: fileName(k),
        data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      };
    });
    this.layout = { files };
    return this.layout;
  }

  /** The floats of the layout: the last entry's aligned end. */
  private layoutFloats(): number {
    const last = this.entries[this.entries.length - 1];
    return last.offset + Math.ceil(last.size / ALIGN) * ALIGN;
  }

  /** The source of `name`'s value while that value is unwritten since it was read from it. */
  private pristineSource(name: string): WeightsSource | undefined {
    const i = this.index(name);
    return this.source && this.pristine[i] === this.stamps[i] ? this.source : undefined;
  }

  /** Re-reads every released value into the arena (it is held in JS again from then on). */
  private materialize(operation: string): void {
    this.checkLive(operation);
    if (this.releasedCount === 0) return;
    this.entries.forEach((e, i) => {
      if (!this.released[i]) return;
      this.readSource(e.name, this.arena.subarray(e.offset, e.offset + e.size), operation);
      this.released[i] = 0;
      this.releasedCount--;
    });
  }

  private readSource(name: string, dest: Float32Array, operation: string): void {
    try {
      this.source!.readSync(name, dest);
    } catch (error) {
      const why = (error as Error).message;
      throw new Error(
        `${operation}: '${name}' was released (held by the sessions only) and re-reading it from ${this.source!.label} failed: ${why}`,
        { cause: error },
      );
    }
  }

  private checkLive(operation: string): void {
    if (this.freedBecause !== undefined)
      throw new Error(
        `${operation}: this parameter set's arena was freed (${this.freedBecause}); use the model's current parameters`,
      );
  }

  private index(name: string): number {
    const i = this.indexByName.get(name);
    if (i === undefined) throw new Error(`ParamSet: no parameter '${name}'`);
    return i;
  }
}

const fileName = (k: number): string => `finemed-weights-${k}.bin`;
