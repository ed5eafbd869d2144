import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.ts';
import { clinicModel } from './fixtures/clinic.ts';
import { presetFor, SFT_PRESETS } from './presets.ts';
import { resolveHyper } from './stage.ts';

describe('resolveHyper(model, options, presets)', () => {
  const model = clinicModel(41);

  it('takes the preset the model’s shape matches, with the caller’s overrides', () => {
    expect(presetFor(model)).toBe('tiny');
    const hyper = resolveHyper(model, { lr: 0.5, epochs: 1.5 }, SFT_PRESETS);
    expect(hyper).toMatchObject({ ...SFT_PRESETS.tiny, lr: 0.5, epochs: 1.5, preset: 'tiny' });
  });

  it('caps a preset’s length at the model’s context, but refuses an explicit longer one', () => {
    expect(resolveHyper(model, { preset: 'paper' }, SFT_PRESETS).maxLength).toBe(
      model.config.maxPositions,
    );
    expect(() => resolveHyper(model, { maxLength: 4096 }, SFT_PRESETS)).toThrow(UsageError);
    expect(() => resolveHyper(model, { batchSize: 0 }, SFT_PRESETS)).toThrow(
      'batchSize must be a positive integer, got 0',
    );
    expect(() => resolveHyper(model, { epochs: 0 }, SFT_PRESETS)).toThrow(
      'epochs must be positive',
    );
  });
});
