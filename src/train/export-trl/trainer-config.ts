import type { DpoLossType } from '../dpo-loss.ts';
import { DPO_ONLY_KNOBS } from '../knobs/dpo.ts';
import { trlFields } from '../knobs/knob.ts';
import { LOOP_KNOBS } from '../knobs/loop.ts';
import { SFT_ONLY_KNOBS } from '../knobs/sft.ts';
import type { LoopHyper, TrainPreset } from '../presets.ts';
import { ALL_LINEAR, type StageLora } from '../stage.ts';

/** The stages a bundle can train. */
export const EXPORT_STAGES = ['sft', 'dpo'] as const;

/** A stage a bundle can train. */
export type ExportStage = (typeof EXPORT_STAGES)[number];

/** A stage's settings after presets and overrides: what `finemed train` would run with. */
export interface ResolvedStage {
  /** Which trainer. */
  stage: ExportStage;
  /** The preset's hyper-parameters with the caller's overrides (`beta` for DPO). */
  hyper: LoopHyper & { beta?: number; preset: TrainPreset };
  /** Seed of data order and adapters. */
  seed: number;
  /** Stop after this many optimizer steps (else `hyper.epochs` passes). */
  maxSteps?: number;
  /** `adamw` (default) or `sgd`. */
  optimizer?: 'adamw' | 'sgd';
  /** SFT: concatenate rows into rows of `maxLength` tokens. */
  packing?: boolean;
  /** SFT: loss on prompt tokens too (default: assistant tokens only, for conversations). */
  trainOnPrompt?: boolean;
  /** SFT: the rows are conversations (`messages`), not plain `text`. */
  conversational: boolean;
  /** DPO loss variant (default sigmoid). */
  loss?: DpoLossType;
  /** DPO: label smoothing of the sigmoid loss (default 0). */
  labelSmoothing?: number;
  /** Train LoRA adapters instead of every weight. */
  lora?: StageLora;
}

/**
 * The keyword arguments of TRL's `SFTConfig`/`DPOConfig` for a resolved stage: every value
 * that changes the optimisation is set explicitly, so TRL's own defaults never decide it.
 * Each knob maps itself (its `trl` field); only the settings no knob stands for are here.
 */
export function trainerConfig(s: ResolvedStage): Record<string, unknown> {
  const { stage, hyper, conversational, ...settings } = s;
  const values = { ...hyper, ...settings };
  const context = { conversational };
  return {
    ...trlFields(LOOP_KNOBS, values, context),
    logging_steps: 1,
    report_to: 'none',
    ...trlFields(stage === 'sft' ? SFT_ONLY_KNOBS : DPO_ONLY_KNOBS, values, context),
    // The workbench scores the frozen reference once per pair before training, as this does.
    ...(stage === 'dpo' ? { precompute_ref_log_probs: true } : {}),
  };
}

/** PEFT `LoraConfig` keyword arguments, with the workbench's defaults filled in (null: no LoRA). */
export function loraConfig(lora: StageLora | undefined): Record<string, unknown> | null {
  if (!lora) return null;
  return {
    r: lora.r,
    lora_alpha: lora.alpha ?? 2 * lora.r,
    lora_dropout: lora.dropout ?? 0,
    target_modules: lora.targetModules ?? ALL_LINEAR,
    bias: 'none',
    task_type: 'CAUSAL_LM',
  };
}
