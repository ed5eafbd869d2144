/**
 * Float32 arenas whose memory can be handed back to the OS at a known moment. A plain
 * ArrayBuffer is freed only when V8 collects it, which may be long after its last use: a
 * gigabyte-sized arena dropped just before ONNX Runtime allocates its own memory (invisible to
 * V8's heuristics) then counts twice towards the process's peak. A resizable ArrayBuffer
 * shrunk to zero bytes returns its pages at once (measured: a filled 2 GiB buffer, RSS back
 * to the baseline right after `resize(0)`).
 */

/** Arenas of at least this many bytes are allocated releasable (smaller ones are not worth it). */
export const RELEASABLE_BYTES = 64 * 2 ** 20;

interface Resizable {
  readonly resizable?: boolean;
  resize?(bytes: number): void;
}

/** A zero-filled arena of `floats` elements, releasable with {@link freeArena}. */
export function releasableFloats(floats: number): Float32Array {
  const bytes = floats * 4;
  const Ctor = ArrayBuffer as unknown as new (
    bytes: number,
    options: { maxByteLength: number },
  ) => ArrayBuffer;
  return new Float32Array(new Ctor(bytes, { maxByteLength: bytes }));
}

/**
 * Frees the memory of an arena made by {@link releasableFloats} now (every view over it then
 * has length 0) and returns true; returns false for any other arena, left to the collector.
 */
export function freeArena(arena: ArrayBufferView): boolean {
  const buffer = arena.buffer as unknown as Resizable;
  if (!buffer.resizable || !buffer.resize) return false;
  buffer.resize(0);
  return true;
}
