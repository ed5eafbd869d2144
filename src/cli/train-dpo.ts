import { dpo } from '../train/dpo.ts';
import { DPO_ONLY_KNOBS } from '../train/knobs/dpo.ts';
import { knobFlags, knobsFromFlags } from '../train/knobs/knob.ts';
import { boolFlag, requiredFlag, stringFlag } from './command.ts';
import type { Command, CommandContext } from './command.ts';
import { switchFlag, valueFlag } from './flags.ts';
import { modelFrom, runStage, stageFlags } from './train-flags.ts';

/** DPO's own knobs from the flags (`--raw-strings` is `chat: false`). */
export function dpoKnobsFromFlags(ctx: CommandContext) {
  return {
    ...knobsFromFlags(DPO_ONLY_KNOBS, ctx.flags),
    chat: boolFlag(ctx, 'raw-strings') ? false : undefined,
  };
}

/** `finemed train dpo`: direct preference optimization against a frozen reference. */
export const trainDpoCommand: Command = {
  name: 'train dpo',
  summary: 'Direct preference optimization on prompt/chosen/rejected rows (sigmoid, IPO, hinge)',
  details: [
    'Rows: {"prompt", "chosen", "rejected"}, strings or message lists (TRL). Plain strings are',
    'rendered with the chat template as a user turn and the assistant reply unless --raw-strings.',
    'The reference (--ref-model, default the starting model) is frozen; its log-probs are computed',
    "once per pair. Progress and --json report TRL's rewards/chosen, rewards/rejected,",
    'rewards/accuracies, rewards/margins, logps/chosen and logps/rejected. Paper preset: lr 1e-7,',
    'beta 0.1, sigmoid loss.',
  ].join('\n'),
  flags: {
    ...stageFlags,
    ...knobFlags(DPO_ONLY_KNOBS),
    'ref-model': valueFlag('DIR', 'Reference model folder (default: --model)'),
    'raw-strings': switchFlag('Concatenate string rows as they are (no chat template)'),
  },
  async run(ctx) {
    const data = requiredFlag(ctx, 'data');
    const reference = stringFlag(ctx, 'ref-model') ? await modelFrom(ctx, 'ref-model') : undefined;
    try {
      await runStage(ctx, (model, options) =>
        dpo(model, {
          ...options,
          data,
          evalData: stringFlag(ctx, 'eval-data'),
          ...dpoKnobsFromFlags(ctx),
          reference,
        }),
      );
    } finally {
      await reference?.dispose();
    }
  },
};
