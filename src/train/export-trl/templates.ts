import { pyLiteral } from './python.ts';
import type { ExportStage } from './trainer-config.ts';

/**
 * The versions `requirements.txt` pins: trl 0.29.1 needs transformers >= 4.56.2 and
 * accelerate >= 1.4; peft and deepspeed are the releases current beside it. The checked-in
 * field lists (fixtures/trl-fields.json) were read from exactly these versions' sources.
 */
export const PINNED = {
  trl: '0.29.1',
  transformers: '4.57.6',
  peft: '0.18.1',
  accelerate: '1.13.0',
  deepspeed: '0.18.8',
  datasets: '4.8.3',
} as const;

/** `requirements.txt` (torch is left to the cluster: its build must match the CUDA there). */
export function requirementsTxt(): string {
  return Object.entries(PINNED)
    .map(([name, version]) => `${name}==${version}\n`)
    .join('');
}

/** What `train.py` is generated from. */
export interface TrainPyInput {
  /** Which trainer. */
  stage: ExportStage;
  /** Model folder or Hub id (overridable with `--model`). */
  model: string;
  /** DPO's frozen reference model, when it is not the starting model. */
  refModel?: string;
  /** `SFTConfig`/`DPOConfig` keyword arguments. */
  config: Record<string, unknown>;
  /** PEFT `LoraConfig` keyword arguments, or null for full fine-tuning. */
  lora: Record<string, unknown> | null;
}

/** The training script: TRL's trainer with the stage's resolved settings as literals. */
export function trainPy(input: TrainPyInput): string {
  const [Config, Trainer] =
    input.stage === 'sft' ? ['SFTConfig', 'SFTTrainer'] : ['DPOConfig', 'DPOTrainer'];
  const refModel =
    input.stage === 'dpo'
      ? [
          '    # The frozen reference; None = the starting model (TRL copies it, or turns LoRA off).',
          '    ref_model = AutoModelForCausalLM.from_pretrained(REF_MODEL) if REF_MODEL else None',
        ]
      : [];
  return [
    '#!/usr/bin/env python3',
    `"""${input.stage.toUpperCase()} stage exported by FineMed Workbench (finemed export trl).`,
    '',
    'Start it through launch.sh (accelerate: one GPU, DDP or DeepSpeed ZeRO-3); see README.md.',
    'CONFIG and LORA are the hyper-parameters `finemed train` resolved for the same flags.',
    '"""',
    'import argparse',
    'import shutil',
    'from pathlib import Path',
    '',
    'from datasets import load_dataset',
    ...(input.stage === 'dpo' ? ['from transformers import AutoModelForCausalLM'] : []),
    `from trl import ${Config}, ${Trainer}`,
    '',
    'HERE = Path(__file__).resolve().parent',
    `MODEL = ${pyLiteral(input.model)}`,
    ...(input.stage === 'dpo' ? [`REF_MODEL = ${pyLiteral(input.refModel ?? null)}`] : []),
    `CONFIG = ${pyLiteral(input.config)}`,
    `LORA = ${pyLiteral(input.lora)}`,
    '',
    '',
    'def main():',
    '    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])',
    '    parser.add_argument("--model", default=MODEL, help="model folder or Hub id (default: %(default)s)")',
    '    parser.add_argument("--output-dir", default=str(HERE / "output"), help="where the trained model goes")',
    '    args = parser.parse_args()',
    '    dataset = load_dataset("parquet", data_files=str(HERE / "data" / "train.parquet"), split="train")',
    '    peft_config = None',
    '    if LORA is not None:',
    '        from peft import LoraConfig',
    '',
    '        peft_config = LoraConfig(**LORA)',
    ...refModel,
    `    trainer = ${Trainer}(`,
    '        model=args.model,',
    ...(input.stage === 'dpo' ? ['        ref_model=ref_model,'] : []),
    `        args=${Config}(output_dir=args.output_dir, **CONFIG),`,
    '        train_dataset=dataset,',
    '        peft_config=peft_config,',
    '    )',
    '    trainer.train()',
    '    trainer.save_model(args.output_dir)',
    '    if trainer.accelerator.is_main_process:',
    "        # `finemed import` reads this to point the model's provenance at this bundle.",
    '        shutil.copyfile(HERE / "manifest.json", Path(args.output_dir) / "finemed-bundle.json")',
    '',
    '',
    'if __name__ == "__main__":',
    '    main()',
    '',
  ].join('\n');
}

/** The accelerate configs, by launcher name (file `accelerate/<name>.yaml`). */
export function accelerateConfigs(): Record<string, string> {
  const common = ['machine_rank: 0', 'main_training_function: main', 'num_machines: 1'];
  return {
    'single-gpu': [
      'compute_environment: LOCAL_MACHINE',
      'distributed_type: "NO"',
      'mixed_precision: bf16',
      'num_processes: 1',
      ...common,
      '',
    ].join('\n'),
    ddp: [
      'compute_environment: LOCAL_MACHINE',
      'distributed_type: MULTI_GPU',
      'mixed_precision: bf16',
      '# One process per GPU; launch.sh overrides this with the GPUs it finds.',
      'num_processes: 8',
      ...common,
      '',
    ].join('\n'),
    zero3: [
      'compute_environment: LOCAL_MACHINE',
      'distributed_type: DEEPSPEED',
      'deepspeed_config:',
      '  deepspeed_config_file: accelerate/ds_config.json',
      '  zero3_init_flag: true',
      'num_processes: 8',
      ...common,
      '',
    ].join('\n'),
  };
}

/** DeepSpeed ZeRO-3; "auto" values are filled in from the trainer's config by transformers. */
export function dsConfig(): unknown {
  return {
    bf16: { enabled: 'auto' },
    zero_optimization: {
      stage: 3,
      overlap_comm: true,
      contiguous_gradients: true,
      reduce_bucket_size: 'auto',
      stage3_prefetch_bucket_size: 'auto',
      stage3_param_persistence_threshold: 'auto',
      // Saving a whole model (not shards of it) at the end needs the weights gathered.
      stage3_gather_16bit_weights_on_model_save: true,
    },
    gradient_accumulation_steps: 'auto',
    gradient_clipping: 'auto',
    train_batch_size: 'auto',
    train_micro_batch_size_per_gpu: 'auto',
  };
}

/** `launch.sh`: picks an accelerate config by name and passes the rest to train.py. */
export function launchSh(): string {
  return `#!/usr/bin/env bash
# Usage: ./launch.sh single-gpu|ddp|zero3 [train.py arguments...]
# Under Slurm the machine count, rank and main address come from SLURM_* variables.
set -euo pipefail
here="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
mode="\${1:-single-gpu}"
shift || true
case "$mode" in
  single-gpu|ddp|zero3) ;;
  *) echo "launch.sh: unknown mode '$mode' (single-gpu, ddp or zero3)" >&2; exit 2 ;;
esac
cd "$here"
args=(--config_file "accelerate/$mode.yaml")
if [ "$mode" != single-gpu ]; then
  gpus="\${GPUS_PER_NODE:-$(nvidia-smi -L 2>/dev/null | wc -l)}"
  nodes="\${SLURM_NNODES:-1}"
  args+=(--num_processes "$((gpus * nodes))" --num_machines "$nodes")
  if [ "$nodes" -gt 1 ]; then
    main="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"
    args+=(--machine_rank "\${SLURM_NODEID:-0}" --main_process_ip "$main" --main_process_port "\${MAIN_PORT:-29500}")
  fi
fi
exec accelerate launch "\${args[@]}" train.py "$@"
`;
}
