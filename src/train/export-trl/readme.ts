import { PINNED } from './templates.ts';
import type { ExportStage } from './trainer-config.ts';

/** What the bundle's README says about its contents. */
export interface ReadmeInput {
  /** Which trainer. */
  stage: ExportStage;
  /** The model the run starts from. */
  model: string;
  /** Training rows. */
  rows: number;
  /** LoRA or every weight. */
  lora: boolean;
  /** SFT with assistant-only loss (needs a chat template with generation markers). */
  assistantOnly: boolean;
}

/** The bundle's README: how to run it on one node and under Slurm. */
export function bundleReadme(r: ReadmeInput): string {
  const trainer = r.stage === 'sft' ? 'SFTTrainer' : 'DPOTrainer';
  return `# ${r.stage.toUpperCase()} stage for TRL (exported by FineMed Workbench)

\`train.py\` runs TRL's ${trainer} on \`data/train.parquet\` (${r.rows} rows; the same rows as
\`data/train.jsonl\`) starting from \`${r.model}\`, ${r.lora ? 'training LoRA adapters (PEFT)' : 'training every weight'}.
Its \`CONFIG\` holds the hyper-parameters \`finemed train ${r.stage}\` resolved for the same flags;
\`manifest.json\` records them, the source model and data, and a hash of every file here.

## Install (once per environment)

    python -m venv .venv && . .venv/bin/activate
    pip install torch            # the build that matches your CUDA
    pip install -r requirements.txt   # trl ${PINNED.trl}, transformers ${PINNED.transformers}, peft ${PINNED.peft}, ...

## One node

    ./launch.sh single-gpu                    # one GPU
    ./launch.sh ddp                           # every GPU of the node, data parallel
    ./launch.sh zero3                         # DeepSpeed ZeRO-3 (accelerate/ds_config.json), for models that do not fit one GPU
    ./launch.sh ddp --model /path/to/model --output-dir /scratch/run1

\`per_device_train_batch_size\` is per GPU: with N GPUs an optimizer step sees N times the rows
of a \`finemed train\` step. To keep the workbench's effective batch, divide
\`gradient_accumulation_steps\` in \`train.py\` by N.${
    r.assistantOnly
      ? `

The loss is on assistant tokens only (\`assistant_only_loss\`), which needs a chat template with
\`{% generation %}\` markers; TRL stops with an error naming this when the model's template lacks
them. Add \`"chat_template_path": "<template or model with one>"\` to \`CONFIG\` in that case.`
      : ''
  }

## Slurm

    #!/bin/bash
    #SBATCH --job-name=finemed-${r.stage}
    #SBATCH --nodes=2
    #SBATCH --ntasks-per-node=1          # one launcher per node; accelerate starts one process per GPU
    #SBATCH --gpus-per-node=8
    #SBATCH --cpus-per-task=32
    #SBATCH --time=24:00:00
    export GPUS_PER_NODE=8
    srun ./launch.sh zero3 --output-dir "$SCRATCH/finemed-${r.stage}"

Submit it with \`sbatch job.sh\` from this folder. \`launch.sh\` reads \`SLURM_NNODES\`,
\`SLURM_NODEID\` and \`SLURM_JOB_NODELIST\` to set the machine count, rank and main address.

## Bring the result back

The output folder holds the model (or the LoRA adapter) and \`finemed-bundle.json\` (a copy of
\`manifest.json\`): \`finemed import --from OUTPUT --out DIR\` registers it in the workbench with
this bundle as its provenance.
`;
}
