import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RecipeContext } from '../job.ts';
import { synthJob, synthParams } from './synth.ts';

const ctx: RecipeContext = {
  resolvePath: (p) => p,
  inputFile: async (path) => ({
    path,
    sha256: createHash('sha256').update(path).digest('hex'),
    bytes: 1,
  }),
  artifactDir: () => '/nowhere',
};

const configOf = async (llm: Record<string, unknown>): Promise<unknown> =>
  (
    await synthJob.recipe(
      synthParams.parse({ preset: 'tiny', llm: { baseUrl: 'http://x/v1', model: 'm', ...llm } }),
      ctx,
    )
  ).config;

describe('wb.synth with an LLM', () => {
  it('keys the dataset by what shapes the files: not concurrency or prices, but the budget', async () => {
    const base = await configOf({ concurrency: 1 });
    expect(await configOf({ concurrency: 8, prices: { input: 3, output: 15 } })).toEqual(base);
    expect(await configOf({ maxRequests: 10 })).not.toEqual(base);
    expect(() =>
      synthParams.parse({ llm: { baseUrl: 'http://x/v1', model: 'm', concurrency: 0 } }),
    ).toThrow(/concurrency/);
  });
});
