import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { tempPathFor } from '../core/atomic.ts';
import { InputError } from '../core/errors.ts';

/** Element types this reader converts to float32. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

/** Element types this writer produces. */
export type SaveDtype = 'F32' | 'BF16';

const ITEM_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** Where one tensor lies inside a safetensors file. */
export interface TensorEntry {
  /** Its name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  name: string;
  /** Element type on disk. */
  dtype: SafetensorsDtype;
  /** Shape, outermost first. */
  shape: number[];
  /** Byte offset of the first element from the start of the file. */
  offset: number;
  /** Bytes on disk. */
  bytes: number;
}

/** A float32 tensor with its shape. */
export interface NamedTensor {
  /** Shape, outermost first. */
  shape: number[];
  /** Row-major elements. */
  data: Float32Array;
}

/** Bytes per read call: large enough to stream at disk speed, below the kernel's 2 GiB cap. */
const READ_CHUNK = 256 * 1024 * 1024;

/** Headers beyond this are refused: real files stay far below it, and a corrupt length must not allocate gigabytes. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/**
 * An open safetensors file: the header is read and validated at open, tensors are read one
 * at a time on demand (so a multi-gigabyte checkpoint never sits in memory twice).
 */
export class SafetensorsFile {
  private constructor(
    /** The file's path. */
    readonly path: string,
    private readonly handle: FileHandle,
    /** Every tensor, by name. */
    readonly tensors: Map<string, TensorEntry>,
    /** The `__metadata__` string map. */
    readonly metadata: Record<string, string>,
    /** Size and modification time at open: {@link readSyncInto} refuses a file changed since. */
    private readonly version: { size: number; mtimeMs: number },
  ) {}

  /** Stage buffers of {@link readInto} between reads. */
  private spareStages?: Uint16Array[];
  /** Elements of a stage buffer, set on the first 16-bit read. */
  private stageSize?: number;

  /** 16-bit elements read per stage when loading F16/BF16 (8 MiB; a static so tests can lower it). */
  static stageElements = 4 * 2 ** 20;

  /** Opens `path` and validates its header; a bad header is an error naming the file (and tensor). */
  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new InputError(`cannot open safetensors file (${(error as Error).message})`, {
        file: path,
      });
    }
    try {
      const { size, mtimeMs } = await handle.stat();
      const { tensors, metadata } = await readHeader(path, handle);
      return new SafetensorsFile(path, handle, tensors, metadata, { size, mtimeMs });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Reads one tensor, converted to float32. */
  async read(name: string): Promise<NamedTensor> {
    const entry = this.entry(name);
    const data = new Float32Array(entry.bytes / ITEM_BYTES[entry.dtype]);
    await this.readInto(name, data);
    return { shape: entry.shape, data };
  }

  /**
   * Reads one tensor into `dest` (e.g. its view of a parameter arena). F32 bytes land there
   * directly; F16/BF16 are read a stage at a time into two small buffers, one widened into
   * `dest` while the next is read, so the file is read once and no tensor-sized copy is made.
   */
  async readInto(name: string, dest: Float32Array): Promise<void> {
    const entry = this.fitting(name, dest);
    if (entry.dtype === 'F32') return this.readFully(bytesOf(dest), entry.offset, name);
    const dtype = entry.dtype;
    const stages = this.takeStages();
    const read = (start: number, k: number) =>
      this.readFully(
        bytesOf(stageAt(stages[k % 2], start, dest.length)),
        entry.offset + start * 2,
        name,
      );
    const step = stages[0].length;
    let reading = read(0, 0);
    for (let start = 0, k = 0; start < dest.length; start += step, k++) {
      await reading;
      if (start + step < dest.length) reading = read(start + step, k + 1);
      widenInto(stageAt(stages[k % 2], start, dest.length), dtype, dest, start);
    }
    this.spareStages = stages;
  }

  /**
   * Two stage buffers, each the size of a stage or of the file's largest 16-bit tensor if
   * smaller: the spare pair when no other read holds it (a model's hundreds of tensors would
   * otherwise allocate gigabytes of them for the collector).
   */
  private takeStages(): Uint16Array[] {
    const spare = this.spareStages;
    this.spareStages = undefined;
    this.stageSize ??= Math.min(
      SafetensorsFile.stageElements,
      Math.max(
        0,
        ...[...this.tensors.values()].filter((t) => t.dtype !== 'F32').map((t) => t.bytes / 2),
      ),
    );
    const size = this.stageSize;
    return spare?.[0].length === size ? spare : [0, 1].map(() => new Uint16Array(size));
  }

  /**
   * {@link readInto}, synchronously, through a fresh file descriptor (the file may have been
   * closed since): for re-reading weights a model released. A file whose size or modification
   * time changed since {@link open} holds other weights now, and is refused.
   */
  readSyncInto(name: string, dest: Float32Array): void {
    const entry = this.fitting(name, dest);
    const fd = openSync(this.path, 'r');
    try {
      const now = fstatSync(fd);
      if (now.size !== this.version.size || now.mtimeMs !== this.version.mtimeMs)
        throw new InputError('the file changed since the model was loaded from it', {
          file: this.path,
          field: name,
        });
      if (entry.dtype === 'F32') return this.readSyncFully(fd, bytesOf(dest), entry.offset, name);
      const stages = this.takeStages();
      for (let start = 0; start < dest.length; start += stages[0].length) {
        const part = stageAt(stages[0], start, dest.length);
        this.readSyncFully(fd, bytesOf(part), entry.offset + start * 2, name);
        widenInto(part, entry.dtype, dest, start);
      }
      this.spareStages = stages;
    } finally {
      closeSync(fd);
    }
  }

  /** The entry of `name`, after checking `dest` holds exactly its elements. */
  private fitting(name: string, dest: Float32Array): TensorEntry {
    const entry = this.entry(name);
    const n = entry.bytes / ITEM_BYTES[entry.dtype];
    if (dest.length !== n) {
      throw new InputError(`tensor has ${n} elements but its destination holds ${dest.length}`, {
        file: this.path,
        field: name,
      });
    }
    return entry;
  }

  private entry(name: string): TensorEntry {
    const entry = this.tensors.get(name);
    if (!entry) throw new InputError('tensor not in file', { file: this.path, field: name });
    return entry;
  }

  /** Fills `into` from `position`; one read call is capped by the OS (2 GiB on Linux), so it loops. */
  private async readFully(into: Uint8Array, position: number, name: string): Promise<void> {
    let done = 0;
    while (done < into.length) {
      const length = Math.min(into.length - done, READ_CHUNK);
      const { bytesRead } = await this.handle.read(into, done, length, position + done);
      if (bytesRead === 0) {
        throw new InputError(`file is truncated: read ${done} of ${into.length} bytes`, {
          file: this.path,
          field: name,
        });
      }
      done += bytesRead;
    }
  }

  /** {@link readFully} on a descriptor of its own, synchronously. */
  private readSyncFully(fd: number, into: Uint8Array, position: number, name: string): void {
    let done = 0;
    while (done < into.length) {
      const length = Math.min(into.length - done, READ_CHUNK);
      const read = readSync(fd, into, done, length, position + done);
      if (read === 0)
        throw new InputError(`file is truncated: read ${done} of ${into.length} bytes`, {
          file: this.path,
          field: name,
        });
      done += read;
    }
  }

  /** Releases the file handle. */
  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function readHeader(
  path: string,
  handle: FileHandle,
): Promise<{ tensors: Map<string, TensorEntry>; metadata: Record<string, string> }> {
  const fail = (reason: string, field?: string): never => {
    throw new InputError(reason, { file: path, field });
  };
  const size = (await stat(path)).size;
  if (size < 8)
    fail(`not a safetensors file: ${size} bytes, shorter than the 8-byte header length`);
  const lengthBytes = Buffer.alloc(8);
  await handle.read(lengthBytes, 0, 8, 0);
  const headerLength = Number(lengthBytes.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
    fail(`corrupt or truncated: header claims ${headerLength} bytes but the file has ${size}`);
  }
  const headerBytes = Buffer.alloc(headerLength);
  await handle.read(headerBytes, 0, headerLength, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch (error) {
    return fail(`corrupt header: not valid JSON (${(error as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) {
    return fail('corrupt header: expected a JSON object');
  }
  const dataStart = 8 + headerLength;
  const dataLength = size - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!info || typeof info !== 'object') fail('header entry is not an object', name);
    const dtype = info.dtype as SafetensorsDtype;
    if (!(dtype in ITEM_BYTES)) {
      fail(`unsupported dtype ${JSON.stringify(info.dtype)} (supported: F32, F16, BF16)`, name);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`bad shape ${JSON.stringify(shape)}`, name);
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
      offsets[1] < offsets[0]
    ) {
      fail(`bad data_offsets ${JSON.stringify(offsets)}`, name);
    }
    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== elements * ITEM_BYTES[dtype]) {
      fail(
        `data_offsets span ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${elements * ITEM_BYTES[dtype]}`,
        name,
      );
    }
    if (end > dataLength) {
      fail(
        `file is truncated: tensor data ends at byte ${end} but only ${dataLength} follow the header`,
        name,
      );
    }
    tensors.set(name, {
      name,
      dtype,
      shape: shape as number[],
      offset: dataStart + begin,
      bytes: end - begin,
    });
  }
  return { tensors, metadata };
}

/**
 * Converts little-endian F32/F16/BF16 bytes to float32 (the machine is assumed little-endian,
 * as ONNX Runtime's targets are). An aligned F32 input is returned as a view over the same memory.
 */
export function toFloat32(raw: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const n = raw.byteLength / ITEM_BYTES[dtype];
  // Typed views need aligned offsets; a fresh copy is aligned.
  const bytes = raw.byteOffset % 4 === 0 ? raw : raw.slice();
  if (dtype === 'F32') return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Float32Array(n);
  widenInto(new Uint16Array(bytes.buffer, bytes.byteOffset, n), dtype, out, 0);
  return out;
}

/** Elements {@link widenInto} converts per step (scratch of 64 KiB, cache-resident). */
const WIDEN_CHUNK = 16384;
const scratchWide = new Uint32Array(WIDEN_CHUNK);
const scratchFloats = new Float32Array(scratchWide.buffer);

/** The part of a stage buffer holding elements `start..` of a tensor of `n`. */
function stageAt(stage: Uint16Array, start: number, n: number): Uint16Array {
  return stage.subarray(0, Math.min(stage.length, n - start));
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Widens 16-bit values into `dest` from element `at` on. The loop runs over plain arrays and
 * only a bulk copy touches `dest`: a large arena is a resizable ArrayBuffer (engine/arena.ts),
 * whose element accesses V8 compiles ~2.5x slower (measured on a 256 MB arena: 125 ms CPU to
 * widen in place in a plain buffer, 250-300 in a resizable one).
 */
function widenInto(
  halves: Uint16Array,
  dtype: 'F16' | 'BF16',
  dest: Float32Array,
  at: number,
): void {
  const bits = new Uint32Array(dest.buffer, dest.byteOffset, dest.length);
  const table = dtype === 'F16' ? halfTable() : undefined;
  for (let start = 0; start < halves.length; start += WIDEN_CHUNK) {
    const m = Math.min(WIDEN_CHUNK, halves.length - start);
    if (table) for (let i = 0; i < m; i++) scratchFloats[i] = table[halves[start + i]];
    else for (let i = 0; i < m; i++) scratchWide[i] = halves[start + i] << 16;
    bits.set(m === WIDEN_CHUNK ? scratchWide : scratchWide.subarray(0, m), at + start);
  }
}

let halfValues: Float32Array | undefined;

/** float16 bits -> float32, for all 65536 patterns (decoding by table is ~10x faster than by formula). */
function halfTable(): Float32Array {
  if (halfValues) return halfValues;
  halfValues = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    halfValues[h] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 0x1f
          ? mantissa
            ? NaN
            : sign * Infinity
          : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return halfValues;
}

/** Rounds float32 to bfloat16 bits (round to nearest even; NaN stays NaN). */
export function floatToBf16(data: Float32Array): Uint16Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) {
      out[i] = (b >>> 16) | 0x40;
    } else {
      out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    }
  }
  return out;
}

/** Options for writing a safetensors file. */
export interface WriteSafetensorsOptions {
  /** Element type on disk (default F32). */
  dtype?: SaveDtype;
  /** The `__metadata__` map (default `{format: "pt"}`, which transformers expects). */
  metadata?: Record<string, string>;
}

/**
 * Writes tensors in safetensors layout, atomically, streaming one tensor at a time: the
 * header lists tensors in the given order, is padded with spaces to an 8-byte boundary (as
 * Hugging Face's writer does) and carries `__metadata__`.
 */
export async function writeSafetensors(
  path: string,
  tensors: Iterable<[string, NamedTensor]>,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const dtype = options.dtype ?? 'F32';
  const list = [...tensors];
  const header: Record<string, unknown> = { __metadata__: options.metadata ?? { format: 'pt' } };
  let offset = 0;
  for (const [name, tensor] of list) {
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    if (elements !== tensor.data.length) {
      throw new Error(
        `${name}: shape ${JSON.stringify(tensor.shape)} does not hold ${tensor.data.length} elements`,
      );
    }
    const bytes = elements * ITEM_BYTES[dtype];
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8 + headerBytes.length);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(prefix, 8);
  await writeStreamAtomic(path, function* () {
    yield prefix;
    for (const [, tensor] of list) {
      const data = tensor.data;
      yield dtype === 'F32'
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : new Uint8Array(floatToBf16(data).buffer);
    }
  });
}

/** Like `writeFileAtomic`, but writes chunk by chunk so that a large file is never built in memory. */
async function writeStreamAtomic(path: string, chunks: () => Iterable<Uint8Array>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const handle = await open(tmp, 'w');
  try {
    for (const chunk of chunks()) {
      let done = 0;
      while (done < chunk.length) done += (await handle.write(chunk, done)).bytesWritten;
    }
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw error;
  }
}
/** Reads every tensor of one safetensors file into memory. */
export async function readSafetensors(path: string): Promise<Map<string, NamedTensor>> {
  const file = await SafetensorsFile.open(path);
  try {
    const out = new Map<string, NamedTensor>();
    for (const name of file.tensors.keys()) out.set(name, await file.read(name));
    return out;
  } finally {
    await file.close();
  }
}
