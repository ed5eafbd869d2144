import { describe, expect, it } from 'vitest';
import {
  benchParamCount,
  median,
  runTrainBench,
  TRAIN_BENCH_CONFIGS,
  trainStepFlops,
} from './bench-train.ts';

describe('bench-train', () => {
  it('trainStepFlops(config) counts 3x the forward matmul FLOPs (blocks, head, attention)', () => {
    const [small] = TRAIN_BENCH_CONFIGS;
    const perToken = 2 * (4 * 12 * 256 * 256 + 4096 * 256) + 4 * 128 * 256 * 4;
    expect(trainStepFlops(small)).toBe(3 * perToken * 16 * 128);
    expect(benchParamCount(small)).toBe(4_240_896);
  });

  it('runTrainBench(config) times full steps of a tiny GPT', async () => {
    const tiny = {
      name: 'tiny',
      vocab: 32,
      dModel: 16,
      layers: 1,
      heads: 2,
      maxSeq: 8,
      batch: 2,
      seq: 8,
    };
    const r = await runTrainBench(tiny, { steps: 2, warmup: 1, threads: 1 });
    expect(r.stepMs).toBeCloseTo(r.forwardBackwardMs + r.optimizerMs, 6);
    expect(r.tokensPerSec).toBeCloseTo((16 * 1000) / r.stepMs, 6);
    expect(Math.abs(r.loss - Math.log(32))).toBeLessThan(0.5);
  });

  it('median(xs) takes the middle value or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
