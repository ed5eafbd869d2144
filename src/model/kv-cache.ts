import { OrtTensorClass, type OrtTensor } from '../engine/index.ts';
import type { ModelConfig } from './config.ts';

/**
 * Keys and values of earlier positions for generation, `[B, kvHeads, P, headDim]` per layer,
 * held in two preallocated arenas per tensor: each step reads the past from one and has ONNX
 * Runtime write the grown cache straight into the other (no output allocation or copy into
 * JavaScript), then the two swap.
 */
export class KvCache {
  private readonly arenas: [Float32Array[], Float32Array[]];
  private current = 0;
  /** Positions cached so far. */
  length = 0;

  constructor(
    private readonly config: ModelConfig,
    /** Rows of the batch. */
    readonly batch: number,
    /** The most positions the cache will hold. */
    readonly capacity: number,
  ) {
    const size = batch * config.numKvHeads * capacity * config.headDim;
    const make = (): Float32Array[] =>
      Array.from({ length: 2 * config.numLayers }, () => new Float32Array(size));
    this.arenas = [make(), make()];
  }

  /** Feeds `past.{i}.key|value` for the cached positions (none before the prefill). */
  pastFeeds(): Record<string, OrtTensor> {
    return this.length === 0 ? {} : this.views(this.arenas[this.current], 'past', this.length);
  }

  /** Pre-allocated `present.{i}.key|value` outputs for a step adding `added` positions. */
  presentFetches(added: number): Record<string, OrtTensor> {
    if (this.length + added > this.capacity) {
      throw new Error(
        `KV cache overflow: ${this.length + added} positions, capacity ${this.capacity}`,
      );
    }
    return this.views(this.arenas[1 - this.current], 'present', this.length + added);
  }

  /** Makes the step's outputs the past of the next step. */
  advance(added: number): void {
    this.current = 1 - this.current;
    this.length += added;
  }

  private views(
    arenas: Float32Array[],
    prefix: string,
    positions: number,
  ): Record<string, OrtTensor> {
    const { numKvHeads, headDim, numLayers } = this.config;
    const dims = [this.batch, numKvHeads, positions, headDim];
    const size = this.batch * numKvHeads * positions * headDim;
    const out: Record<string, OrtTensor> = {};
    for (let i = 0; i < numLayers; i++) {
      out[`${prefix}.${i}.key`] = new OrtTensorClass(
        'float32',
        arenas[2 * i].subarray(0, size),
        dims,
      );
      out[`${prefix}.${i}.value`] = new OrtTensorClass(
        'float32',
        arenas[2 * i + 1].subarray(0, size),
        dims,
      );
    }
    return out;
  }
}
