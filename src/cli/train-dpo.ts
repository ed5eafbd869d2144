import { DPO_LOSSES } from '../train/dpo-loss.ts';
import { dpo } from '../train/dpo.ts';
import {
  boolFlag,
  choiceFlag,
  numberFlag,
  requiredFlag,
  stringFlag,
  type Command,
} from './command.ts';
import { modelFrom, runStage, stageFlags } from './train-flags.ts';

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
    beta: { type: 'string', value: 'B', description: 'KL strength (preset default 0.1)' },
    loss: {
      type: 'string',
      value: DPO_LOSSES.join('|'),
      description: 'Loss variant',
      default: 'sigmoid',
    },
    'label-smoothing': {
      type: 'string',
      value: 'E',
      description: 'Label smoothing of the sigmoid loss',
    },
    'ref-model': {
      type: 'string',
      value: 'DIR',
      description: 'Reference model folder (default: --model)',
    },
    'raw-strings': {
      type: 'boolean',
      description: 'Concatenate string rows as they are (no chat template)',
    },
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
          evalSplit: numberFlag(ctx, 'eval-split', { min: 0, max: 0.5 }),
          beta: numberFlag(ctx, 'beta', { min: 0 }),
          loss: choiceFlag(ctx, 'loss', DPO_LOSSES),
          labelSmoothing: numberFlag(ctx, 'label-smoothing', { min: 0, max: 0.5 }),
          reference,
          chat: boolFlag(ctx, 'raw-strings') ? false : undefined,
        }),
      );
    } finally {
      await reference?.dispose();
    }
  },
};
