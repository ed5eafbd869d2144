// Browser-safe: the flagship's recipe per preset, declared once for every notebook (`wb.recipe`).
import type { JobOutcome, JobRun, JobState } from './job-run.ts';
import { PRESETS } from './preset.ts';

/** A preset the recipe is tuned for: all but `paper`, which takes the paper's own settings (`train/knobs`). */
export type RecipeSize = Exclude<(typeof PRESETS)[number], 'paper'>;

const SIZES: readonly string[] = PRESETS.filter((preset) => preset !== 'paper');

/** One training stage's settings (what `wb.sft` and `wb.dpo` read besides model and data). */
export interface StageSettings {
  lr: number;
  /** Passes over the stage's data; a fraction stops part-way through the first. */
  epochs: number;
  /** Rows per optimizer step. */
  batchSize: number;
  /** Tokens per row; longer rows are cut. */
  maxLength: number;
}

/** The flagship's settings for one preset: synthesis, each training stage, TTT and scoring. */
export interface Recipe {
  /** `wb.synth` settings besides preset and seed. */
  synth: {
    /** Conditions of the synthetic world (the synthesizer's own count when absent). */
    conditions?: number;
    passages?: number;
    evalItems?: number;
    /** Zipf exponent of how often each condition appears. */
    rarity: number;
    /** Share of preference pairs whose rejected answer anchors on a look-alike condition. */
    anchorFraction: number;
  };
  /** Language-model pretraining on the textbook passages (packed rows). */
  pretrain: StageSettings;
  /** SFT on the common instructions. */
  common: StageSettings;
  /** SFT on one department's instructions. */
  department: StageSettings;
  /** SFT on the long-reasoning answers. */
  reasoning: StageSettings;
  /** DPO against the frozen long-reasoning model. */
  dpo: StageSettings & { beta: number };
  /** Test-time training: `k` neighbours from `index`, `steps` steps each at `lr`. */
  ttt: { k: number; steps: number; lr: number; index: string };
  /** How every rung is scored (`wb.evaluate` settings besides model, bench and seed). */
  scoring: {
    harness: 'workbench';
    mode: 'loglik';
    choiceStyle: 'text';
    chat: boolean;
    /** The answer sentence whose ending each option is scored as. */
    answerPrefix: string;
  };
}

// Chosen by experiment on the synthetic world (never on real benchmark files). tiny: a smoke run
// for CI, too small to learn anything. demo: a world of 30 conditions (not the synthesizer's 60)
// so that each is seen often enough in a few minutes of training; Zipf rarity 1 leaves a third of
// them rare; every preference pair's rejected answer anchors on a look-alike. Learning rates fall
// along the curriculum, so each stage adds to the last instead of overwriting it. TTT trains one
// step on the nearest textbook passage (Hardt & Sun retrieve from the pretraining corpus; the
// paper from its SFT data, which helped less here). Options are scored as the end of the model's
// own answer. A setting the presets do not share reads byPreset(tiny, demo).
function build(size: RecipeSize): Recipe {
  const byPreset = <T>(tiny: T, demo: T): T => (size === 'tiny' ? tiny : demo);
  return {
    synth: {
      ...byPreset({}, { conditions: 30, passages: 600, evalItems: 200 }),
      rarity: 1,
      anchorFraction: 1,
    },
    pretrain: { lr: 3e-3, epochs: byPreset(1, 8), batchSize: 8, maxLength: 128 },
    common: { lr: byPreset(2e-3, 5e-4), epochs: byPreset(1, 3), batchSize: 8, maxLength: 256 },
    department: {
      lr: byPreset(1e-3, 2e-4),
      epochs: byPreset(0.5, 1),
      batchSize: 8,
      maxLength: byPreset(256, 512),
    },
    reasoning: {
      lr: byPreset(1e-3, 3e-4),
      epochs: byPreset(0.5, 4),
      batchSize: 4,
      maxLength: byPreset(256, 512),
    },
    dpo: {
      lr: byPreset(1e-4, 5e-5),
      beta: 0.1,
      epochs: byPreset(0.5, 1),
      batchSize: byPreset(2, 4),
      maxLength: byPreset(384, 512),
    },
    ttt: { k: 1, steps: 1, lr: 1e-3, index: 'pretrain.jsonl' },
    scoring: {
      harness: 'workbench',
      mode: 'loglik',
      choiceStyle: 'text',
      chat: true,
      answerPrefix: 'The most likely diagnosis is',
    },
  };
}

/** The recipe for `size` (a fresh object: a cell may change its copy). */
export function recipe(size: string): Recipe {
  if (!SIZES.includes(size)) {
    throw new RangeError(
      `wb.recipe: size must be one of ${SIZES.join(', ')}, got ${JSON.stringify(size)}`,
    );
  }
  return build(size as RecipeSize);
}

/**
 * An upstream job as a parameter: its value in another cell (a state or result), or, within
 * the same cell, the {@link JobRun} itself (the job then waits for it to finish).
 */
export type Upstream = JobState | JobOutcome | JobRun;

/** A file of a synthesized dataset, as a job input. */
export interface DatasetFile {
  dataset: Upstream;
  file: string;
}

/**
 * The parameters of the jobs every notebook built on the recipe shares: synthesis, the model
 * and its tokenizer, pretraining and common-instruction SFT. Notebooks that call these get the
 * flagship's artifact keys, so a flagship run leaves them nothing to retrain.
 */
export interface SharedStageParams {
  synth(): { preset: RecipeSize; seed: number } & Recipe['synth'];
  init(data: Upstream): { preset: RecipeSize; corpus: DatasetFile; seed: number };
  pretrain(
    init: Upstream,
    data: Upstream,
  ): StageSettings & { model: Upstream; data: DatasetFile; packing: true; seed: number };
  common(
    model: Upstream,
    data: Upstream,
  ): StageSettings & { model: Upstream; data: DatasetFile; seed: number };
}

/** {@link SharedStageParams} for a preset and seed. */
export function sharedStageParams(size: string, seed: number): SharedStageParams {
  const settings = recipe(size);
  const preset = size as RecipeSize;
  const file = (dataset: Upstream, name: string): DatasetFile => ({ dataset, file: name });
  return {
    synth: () => ({ preset, seed, ...settings.synth }),
    init: (data) => ({ preset, corpus: file(data, 'pretrain.jsonl'), seed }),
    pretrain: (init, data) => ({
      model: init,
      data: file(data, 'pretrain.jsonl'),
      packing: true,
      seed,
      ...settings.pretrain,
    }),
    common: (model, data) => ({
      model,
      data: file(data, 'sft_common.jsonl'),
      seed,
      ...settings.common,
    }),
  };
}
