import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.ts';
import { freeArena, releasableFloats } from '../engine/arena.ts';
import {
  SafetensorsFile,
  floatToBf16,
  readSafetensors,
  toFloat32,
  writeSafetensors,
  type NamedTensor,
} from './safetensors.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-st-'));

/** Builds a safetensors file by hand from a header object and raw data bytes. */
function handMade(header: object, data: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length));
  json.copy(out, 8);
  Buffer.from(data).copy(out, 8 + json.length);
  return out;
}

const sample = (): [string, NamedTensor][] => [
  ['b.weight', { shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, 1e30, -0, 7]) }],
  ['a.bias', { shape: [3], data: new Float32Array([0.1, 0.2, 0.3]) }],
];

describe('writeSafetensors / readSafetensors', () => {
  it('round-trips F32 bit for bit, keeping tensor order and an 8-byte aligned header', async () => {
    const path = join(scratch(), 'm.safetensors');
    await writeSafetensors(path, sample());
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString());
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(Object.keys(header)).toEqual(['__metadata__', 'b.weight', 'a.bias']);
    const back = await readSafetensors(path);
    for (const [name, t] of sample()) {
      expect(back.get(name)!.shape).toEqual(t.shape);
      expect(
        new Uint32Array(
          back.get(name)!.data.buffer,
          back.get(name)!.data.byteOffset,
          t.data.length,
        ),
      ).toEqual(new Uint32Array(t.data.buffer));
    }
  });

  it('writes BF16 rounded to nearest even and reads it back as float32', async () => {
    const path = join(scratch(), 'm.safetensors');
    // 1 + 2^-8 is a tie between bf16 neighbours 1 and 1 + 2^-7: ties go to the even mantissa (1).
    const data = new Float32Array([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -3.140625, 65504]);
    await writeSafetensors(path, [['x', { shape: [5], data }]], { dtype: 'BF16' });
    const back = (await readSafetensors(path)).get('x')!;
    expect([...back.data]).toEqual([1, 1, 1 + 2 ** -6, -3.140625, 65536]);
  });

  it('reads F16 tensors, including subnormals and infinities', () => {
    const halves = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00, 0x3555]);
    const out = toFloat32(new Uint8Array(halves.buffer), 'F16');
    expect(out[0]).toBe(1);
    expect(out[1]).toBe(-2);
    expect(out[2]).toBe(2 ** -24);
    expect(out[3]).toBe(Infinity);
    expect(out[4]).toBeCloseTo(0.333, 3);
  });

  it('floatToBf16 keeps NaN a NaN', () => {
    const bits = floatToBf16(new Float32Array([NaN]))[0];
    expect((bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0).toBe(true);
  });
});

describe('SafetensorsFile.open rejects bad files naming file and tensor', () => {
  const write = (bytes: Uint8Array): string => {
    const path = join(scratch(), 'bad.safetensors');
    writeFileSync(path, bytes);
    return path;
  };

  it('a file shorter than its header length', async () => {
    const path = write(
      handMade({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
    );
    truncateSync(path, 20);
    await expect(SafetensorsFile.open(path)).rejects.toThrow(
      /bad\.safetensors: corrupt or truncated: header claims/,
    );
  });

  it('a file whose tensor data was cut off', async () => {
    const path = write(
      handMade({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(16)),
    );
    truncateSync(path, readFileSync(path).length - 4);
    const error = await SafetensorsFile.open(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).file).toBe(path);
    expect((error as InputError).field).toBe('w');
    expect((error as Error).message).toMatch(/truncated/);
  });

  it('a header that is not JSON', async () => {
    const bytes = Buffer.alloc(8 + 5);
    bytes.writeBigUInt64LE(5n);
    bytes.write('{oops', 8);
    await expect(SafetensorsFile.open(write(bytes))).rejects.toThrow(
      /corrupt header: not valid JSON/,
    );
  });

  it('an unknown dtype and offsets that disagree with the shape', async () => {
    await expect(
      SafetensorsFile.open(
        write(
          handMade({ q: { dtype: 'I8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
        ),
      ),
    ).rejects.toThrow(/q: unsupported dtype "I8"/);
    await expect(
      SafetensorsFile.open(
        write(
          handMade({ k: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
        ),
      ),
    ).rejects.toThrow(/k: data_offsets span 8 bytes but shape \[3\] of F32 needs 12/);
  });

  it('read(name) of a missing tensor names it', async () => {
    const path = join(scratch(), 'm.safetensors');
    await writeSafetensors(path, sample());
    const file = await SafetensorsFile.open(path);
    await expect(file.read('nope')).rejects.toThrow(/m\.safetensors: nope: tensor not in file/);
    await file.close();
  });
});

describe('SafetensorsFile.readInto widens into a view of a larger arena', () => {
  /** An arena with sentinels either side of a window of `n` floats at an offset that is not 0. */
  const arena = (n: number) => {
    const data = new Float32Array(n + 32).fill(-7);
    return { data, window: data.subarray(16, 16 + n) };
  };

  it('F32, BF16 and F16 land exactly, an odd element count included, neighbours untouched', async () => {
    const path = join(scratch(), 'm.safetensors');
    const f32 = new Float32Array([1, -2.5, 3e-8, 1e30, -0, 7, NaN]);
    // Values bf16 holds exactly, so the round trip through BF16 must be bit-exact.
    const bf16 = new Float32Array([1, -3.140625, 65536, -0, 2 ** -130, Infinity, 0.5]);
    await writeSafetensors(path, [['f', { shape: [7], data: f32 }]]);
    const bfPath = join(scratch(), 'b.safetensors');
    await writeSafetensors(bfPath, [['b', { shape: [7], data: bf16 }]], { dtype: 'BF16' });
    const halves = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00, 0x8000, 0x7bff, 0x3555]);
    const hPath = join(scratch(), 'h.safetensors');
    writeFileSync(
      hPath,
      handMade(
        { h: { dtype: 'F16', shape: [7], data_offsets: [0, 14] } },
        new Uint8Array(halves.buffer),
      ),
    );
    const bits = (a: Float32Array) => [...new Uint32Array(a.slice().buffer)];
    for (const [file, name, expected] of [
      [path, 'f', f32],
      [bfPath, 'b', bf16],
      [hPath, 'h', new Float32Array([1, -2, 2 ** -24, Infinity, -0, 65504, 0.333251953125])],
    ] as const) {
      const st = await SafetensorsFile.open(file);
      const { data, window } = arena(7);
      await st.readInto(name, window);
      await st.close();
      expect(bits(window)).toEqual(bits(expected));
      expect([...data.subarray(0, 16), ...data.subarray(23)].every((x) => x === -7)).toBe(true);
    }
  });

  it('a tensor of several read stages in a releasable arena: BF16 and F16 bit-exact, async and sync', async () => {
    const saved = SafetensorsFile.stageElements;
    SafetensorsFile.stageElements = 40000;
    try {
      const n = 2 * 40000 + 16384 + 5;
      const halves = Uint16Array.from({ length: n }, (_, i) => (i * 40503 + 7) & 0xffff);
      const bytes = new Uint8Array(halves.buffer);
      const path = join(scratch(), 'big.safetensors');
      const data = new Uint8Array(4 * n);
      data.set(bytes);
      data.set(bytes, 2 * n);
      const header = (dtype: string, at: number) => ({
        dtype,
        shape: [n],
        data_offsets: [at, at + 2 * n],
      });
      writeFileSync(path, handMade({ b: header('BF16', 0), h: header('F16', 2 * n) }, data));
      const f16 = (h: number): number => {
        const sign = h & 0x8000 ? -1 : 1;
        const [e, m] = [(h >> 10) & 31, h & 1023];
        if (e === 0) return sign * m * 2 ** -24;
        if (e === 31) return m ? NaN : sign * Infinity;
        return sign * (1 + m / 1024) * 2 ** (e - 15);
      };
      const want = {
        b: Uint32Array.from(halves, (h) => h << 16),
        h: new Uint32Array(Float32Array.from(halves, f16).buffer),
      };
      const st = await SafetensorsFile.open(path);
      for (const name of ['b', 'h'] as const) {
        for (const read of ['readInto', 'readSyncInto'] as const) {
          const arena = releasableFloats(n + 32).fill(-7);
          const window = arena.subarray(16, 16 + n);
          await st[read](name, window);
          expect(new Uint32Array(window.slice().buffer)).toEqual(want[name]);
          expect([...arena.subarray(0, 16), ...arena.subarray(16 + n)].every((x) => x === -7)).toBe(
            true,
          );
          expect(freeArena(arena)).toBe(true);
        }
      }
      await st.close();
    } finally {
      SafetensorsFile.stageElements = saved;
    }
  });

  it('a destination of the wrong length is an error naming the file and tensor', async () => {
    const path = join(scratch(), 'm.safetensors');
    await writeSafetensors(path, sample());
    const file = await SafetensorsFile.open(path);
    await expect(file.readInto('a.bias', new Float32Array(4))).rejects.toThrow(
      /m\.safetensors: a\.bias: tensor has 3 elements but its destination holds 4/,
    );
    await file.close();
  });
});
