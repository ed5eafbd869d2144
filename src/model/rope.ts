import { cast, concat, cos, mul, sin, unsqueeze, type Tensor } from '../engine/index.ts';
import type { ModelConfig } from './config.ts';

/**
 * Rotary inverse frequencies `theta^(-2i/d)` for `i < d/2`, with Llama 3 scaling when the
 * config has it (transformers' `_compute_llama3_parameters`): long wavelengths are divided
 * by `factor`, short ones kept, and the band between interpolated smoothly.
 */
export function rotaryInverseFrequencies(config: ModelConfig): Float64Array {
  const d = config.headDim;
  const freq = new Float64Array(d / 2);
  for (let i = 0; i < d / 2; i++) freq[i] = 1 / Math.pow(config.ropeTheta, (2 * i) / d);
  const s = config.ropeScaling;
  if (!s) return freq;
  const lowWavelength = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelength = s.originalMaxPositions / s.highFreqFactor;
  for (let i = 0; i < freq.length; i++) {
    const wavelength = (2 * Math.PI) / freq[i];
    if (wavelength > lowWavelength) {
      freq[i] /= s.factor;
    } else if (wavelength >= highWavelength) {
      const smooth =
        (s.originalMaxPositions / wavelength - s.lowFreqFactor) /
        (s.highFreqFactor - s.lowFreqFactor);
      freq[i] = (1 - smooth) * (freq[i] / s.factor) + smooth * freq[i];
    }
  }
  return freq;
}

/** `position * frequency` `[B, T, headDim/2]` for int64 positions `[B, T]`. */
function angles(config: ModelConfig, positions: Tensor): Tensor {
  const inv = Float32Array.from(rotaryInverseFrequencies(config));
  const frequencies = positions.graph.constant(inv, 'float32', [inv.length]);
  return mul(unsqueeze(cast(positions, 'float32'), [-1]), frequencies);
}

/**
 * `cos`/`sin` tables `[B|1, 1, T, headDim]` for int64 positions `[B|1, T]`, as Hugging Face
 * Llama builds them (frequencies duplicated to the full head width, rotate-half convention).
 */
export function rotaryTables(config: ModelConfig, positions: Tensor): { cos: Tensor; sin: Tensor } {
  const a = angles(config, positions);
  const both = unsqueeze(concat([a, a], -1), [1]);
  return { cos: cos(both), sin: sin(both) };
}

/** Per-position `cos`/`sin` `[B, T, headDim/2]` (the form ONNX RotaryEmbedding takes). */
export function rotaryAngles(config: ModelConfig, positions: Tensor): { cos: Tensor; sin: Tensor } {
  const a = angles(config, positions);
  return { cos: cos(a), sin: sin(a) };
}
