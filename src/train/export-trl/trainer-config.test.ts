import { describe, expect, it } from 'vitest';
import { DPO_KNOBS } from '../knobs/dpo.ts';
import { SFT_KNOBS } from '../knobs/sft.ts';
import { DPO_PRESETS, SFT_PRESETS } from '../presets.ts';
import { trainerConfig } from './trainer-config.ts';

describe('trainerConfig', () => {
  it.each([
    ['sft', SFT_KNOBS],
    ['dpo', DPO_KNOBS],
  ])(
    'every %s knob says how it reaches the export (a TRL field, a mapping, null or false)',
    (_, knobs) => {
      const silent = Object.entries(knobs).filter(([, k]) => k.trl === undefined);
      expect(silent.map(([name]) => name)).toEqual([]);
    },
  );

  it('maps converted and defaulted knobs, in the order the bundle has always written them', () => {
    const sft = trainerConfig({
      stage: 'sft',
      hyper: { ...SFT_PRESETS.tiny, schedule: 'constant', warmup: { steps: 5 }, preset: 'tiny' },
      seed: 3,
      maxSteps: 10,
      optimizer: 'sgd',
      conversational: false,
    });
    expect(Object.entries(sft)).toEqual(
      Object.entries({
        seed: 3,
        learning_rate: SFT_PRESETS.tiny.lr,
        num_train_epochs: SFT_PRESETS.tiny.epochs,
        per_device_train_batch_size: SFT_PRESETS.tiny.batchSize,
        gradient_accumulation_steps: SFT_PRESETS.tiny.gradAccum,
        max_length: SFT_PRESETS.tiny.maxLength,
        weight_decay: SFT_PRESETS.tiny.weightDecay,
        max_grad_norm: SFT_PRESETS.tiny.maxGradNorm,
        lr_scheduler_type: 'constant_with_warmup',
        warmup_steps: 5,
        max_steps: 10,
        optim: 'sgd',
        logging_steps: 1,
        report_to: 'none',
        packing: false,
        assistant_only_loss: false,
      }),
    );
  });

  it('fills in the workbench defaults of unset DPO settings', () => {
    const dpo = trainerConfig({
      stage: 'dpo',
      hyper: { ...DPO_PRESETS.paper, preset: 'paper' },
      seed: 0,
      conversational: true,
    });
    expect(dpo).toMatchObject({
      lr_scheduler_type: 'cosine',
      warmup_ratio: 0.1,
      max_steps: -1,
      optim: 'adamw_torch',
      beta: DPO_PRESETS.paper.beta,
      loss_type: ['sigmoid'],
      label_smoothing: 0,
      precompute_ref_log_probs: true,
    });
    expect(Object.keys(dpo).slice(-4)).toEqual([
      'beta',
      'loss_type',
      'label_smoothing',
      'precompute_ref_log_probs',
    ]);
    expect(dpo).not.toHaveProperty('packing');
  });
});
