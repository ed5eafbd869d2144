// Browser-safe and free of ONNX Runtime (see knob.ts).
import { z } from 'zod';
import { knob, type KnobValues } from './knob.ts';
import { LOOP_KNOBS } from './loop.ts';

/** SFT's own knobs (`wb.sft`, `finemed train sft`). */
export const SFT_ONLY_KNOBS = {
  packing: knob(
    z.boolean().optional(),
    'Concatenate rows and cut them into rows of --max-length tokens (nothing truncated)',
    { trl: (p?: boolean) => ({ packing: p ?? false }) },
  ),
  // Only conversations have assistant turns to limit the loss to.
  trainOnPrompt: knob(z.boolean().optional(), 'Loss on prompt tokens too', {
    trl: (all: boolean | undefined, { conversational }) => ({
      assistant_only_loss: conversational && !all,
    }),
  }),
};

/** Every SFT knob. */
export const SFT_KNOBS = { ...LOOP_KNOBS, ...SFT_ONLY_KNOBS };

/** SFT's knob values. */
export type SftKnobs = KnobValues<typeof SFT_KNOBS>;
