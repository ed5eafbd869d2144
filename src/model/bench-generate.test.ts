import { describe, expect, it } from 'vitest';
import { benchGenerate } from './bench-generate.ts';

describe('benchGenerate', () => {
  it('reports positive throughputs for our side and no ratio without the reference', async () => {
    const result = await benchGenerate({
      preset: 'tiny',
      rounds: 1,
      newTokens: 4,
      prefillTokens: 16,
      batch: 2,
      skipTorch: true,
    });
    const ours = result.ours as Record<string, number>;
    expect(Object.keys(ours).sort()).toEqual([
      'decode_b1_tokens_per_s',
      'decode_batch_tokens_per_s',
      'prefill_tokens_per_s',
    ]);
    for (const value of Object.values(ours)) expect(value).toBeGreaterThan(0);
    expect(result.torch).toBeNull();
    expect(result).not.toHaveProperty('ratio_decode_b1');
  });
});
