// Browser-safe and free of ONNX Runtime (see knob.ts).
import { z } from 'zod';
import type { DpoLossType } from '../dpo-loss.ts';
import { knob, type KnobValues } from './knob.ts';
import { LOOP_KNOBS } from './loop.ts';

/** The DPO loss variants (TRL's `loss_type` names). */
export const DPO_LOSSES = ['sigmoid', 'ipo', 'hinge'] as const;

/** DPO's own knobs (`wb.dpo`, `finemed train dpo`). */
export const DPO_ONLY_KNOBS = {
  beta: knob(z.number().positive().optional(), 'KL strength (preset default 0.1)', {
    value: 'B',
    trl: 'beta',
  }),
  // TRL takes a list of losses to sum.
  loss: knob(z.enum(DPO_LOSSES).optional(), 'Loss variant', {
    shown: 'sigmoid',
    trl: (l?: DpoLossType) => ({ loss_type: [l ?? 'sigmoid'] }),
  }),
  labelSmoothing: knob(
    z.number().min(0).max(0.5).optional(),
    'Label smoothing of the sigmoid loss',
    { value: 'E', trl: (e?: number) => ({ label_smoothing: e ?? 0 }) },
  ),
  // The CLI's switch is the opposite, `--raw-strings` (chat: false). A bundle's rows are
  // conversations either way.
  chat: knob(
    z.boolean().optional(),
    "Render plain-string rows with the model's chat template (default true)",
    { flag: null, trl: false },
  ),
};

/** Every DPO knob. */
export const DPO_KNOBS = { ...LOOP_KNOBS, ...DPO_ONLY_KNOBS };

/** DPO's knob values. */
export type DpoKnobs = KnobValues<typeof DPO_KNOBS>;
