import { knobFlags, knobsFromFlags } from '../train/knobs/knob.ts';
import { SFT_ONLY_KNOBS } from '../train/knobs/sft.ts';
import { sft } from '../train/sft.ts';
import { requiredFlag, stringFlag } from './command.ts';
import type { Command } from './command.ts';
import { runStage, stageFlags } from './train-flags.ts';

/** `finemed train sft`: supervised fine-tuning (and pretraining on `text` rows). */
export const trainSftCommand: Command = {
  name: 'train sft',
  summary: 'Supervised fine-tuning on TRL-format rows (messages or text), full or LoRA',
  details: [
    'Rows: {"messages": [{"role", "content"}, ...]} rendered with the model\'s chat template, loss on',
    'assistant tokens only (--train-on-prompt for every token); or {"text": ...} for language-model',
    'pretraining (loss on every token, EOS appended). Checkpoints (weights, optimizer, schedule,',
    'data position, RNG) go to OUT/checkpoint-N; Ctrl-C saves one first, --resume continues it',
    'exactly. The trained model (LoRA merged; the adapter in OUT/adapter) and train_result.json',
    'go to OUT. Presets: tiny/demo for the built-in models, paper = lr 5e-6, cosine, warmup 0.1,',
    'weight decay 0.01.',
  ].join('\n'),
  flags: { ...stageFlags, ...knobFlags(SFT_ONLY_KNOBS) },
  async run(ctx) {
    const data = requiredFlag(ctx, 'data');
    await runStage(ctx, (model, options) =>
      sft(model, {
        ...options,
        data,
        evalData: stringFlag(ctx, 'eval-data'),
        ...knobsFromFlags(SFT_ONLY_KNOBS, ctx.flags),
      }),
    );
  },
};
