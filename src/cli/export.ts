import { UsageError } from '../core/errors.ts';
import { exportTrl } from '../train/export-trl/bundle.ts';
import { EXPORT_STAGES } from '../train/export-trl/trainer-config.ts';
import { DPO_KNOBS, DPO_ONLY_KNOBS } from '../train/knobs/dpo.ts';
import { knobFlags, knobsFromFlags } from '../train/knobs/knob.ts';
import { SFT_KNOBS, SFT_ONLY_KNOBS } from '../train/knobs/sft.ts';
import { boolFlag, choiceFlag, requiredFlag, stringFlag } from './command.ts';
import type { Command } from './command.ts';
import { valueFlag, type FlagSpec } from './flags.ts';
import { trainDpoCommand } from './train-dpo.ts';
import { stageOptions } from './train-flags.ts';
import { trainSftCommand } from './train-sft.ts';

// Flags of `finemed train` that steer the local run itself, not what is trained: those of the
// knobs only a local run uses (`trl: false`), and the run's own (TRL has its own evaluation,
// checkpointing and threads; `--raw-strings` sets the chat knob, and DPO rows are always
// exported as conversations).
const RUN_ONLY = [
  ...Object.keys(
    knobFlags(
      Object.fromEntries(
        Object.entries({ ...SFT_KNOBS, ...DPO_KNOBS }).filter(([, k]) => k.trl === false),
      ),
    ),
  ),
  'eval-data',
  'resume',
  'keep-checkpoints',
  'threads',
  'raw-strings',
];
const SFT_ONLY = Object.keys(knobFlags(SFT_ONLY_KNOBS));
const DPO_ONLY = [...Object.keys(knobFlags(DPO_ONLY_KNOBS)), 'ref-model'];

const trainFlags: Record<string, FlagSpec> = Object.fromEntries(
  Object.entries({ ...trainSftCommand.flags, ...trainDpoCommand.flags }).filter(
    ([name]) => !RUN_ONLY.includes(name),
  ),
);

/** `finemed export trl`: a stage as a TRL + accelerate/DeepSpeed bundle for a GPU cluster. */
export const exportTrlCommand: Command = {
  name: 'export trl',
  summary: 'Write a stage as a TRL + accelerate/DeepSpeed bundle (train.py, data, configs)',
  details: [
    "Resolves the stage's hyper-parameters exactly as `finemed train sft|dpo` would for the same",
    'flags and writes OUT: data/train.jsonl and data/train.parquet (TRL conversational format,',
    'messages as list<struct<role, content>>), train.py (SFTTrainer/DPOTrainer, PEFT LoRA when',
    '--lora-rank is given), requirements.txt, accelerate configs for one GPU, DDP and ZeRO-3,',
    'launch.sh, README.md (one node and Slurm) and manifest.json (content hash, sources, settings).',
  ].join('\n'),
  flags: {
    stage: valueFlag(EXPORT_STAGES.join('|'), 'Stage to export'),
    ...trainFlags,
    model: valueFlag('DIR|HUB_ID', 'Model folder or Hub id to start from'),
    out: valueFlag('DIR', 'The bundle folder to create (must not exist)'),
  },
  async run(ctx) {
    const stage = choiceFlag(ctx, 'stage', EXPORT_STAGES);
    if (!stage) throw new UsageError(`--stage is required (${EXPORT_STAGES.join('|')})`);
    // Flags with a default are present either way: only a value other than it was given.
    const wrong = (stage === 'sft' ? DPO_ONLY : SFT_ONLY).filter(
      (f) =>
        ctx.flags[f] !== undefined &&
        ctx.flags[f] !== false &&
        ctx.flags[f] !== trainFlags[f].default,
    );
    if (wrong.length > 0) throw new UsageError(`--${wrong[0]} is not a flag of the ${stage} stage`);
    const options = stageOptions(ctx);
    const manifest = await exportTrl({
      ...options,
      stage,
      model: requiredFlag(ctx, 'model'),
      data: requiredFlag(ctx, 'data'),
      ...knobsFromFlags(stage === 'sft' ? SFT_ONLY_KNOBS : DPO_ONLY_KNOBS, ctx.flags),
      refModel: stringFlag(ctx, 'ref-model'),
    });
    if (boolFlag(ctx, 'json')) {
      ctx.stdout.write(JSON.stringify({ out: options.outDir, ...manifest }) + '\n');
      return;
    }
    ctx.stdout.write(
      `${stage} bundle (${manifest.rows} rows, ${manifest.hyperparameters.preset} preset) written to ${options.outDir}\n` +
        `content hash ${manifest.hash}\n` +
        `run it: cd ${options.outDir} && ./launch.sh single-gpu|ddp|zero3\n`,
    );
  },
};
