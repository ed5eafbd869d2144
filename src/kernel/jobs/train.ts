import { join } from 'node:path';
import { z } from 'zod';
import { parameterCount, readModelConfig } from '../../model/config.ts';
import { defineJob, type JobDefinition, type JobRecipe, type RecipeContext } from '../job.ts';
import { artifactRefSchema, type ArtifactRef, type CostEstimate } from '../protocol.ts';
import { DPO_KNOBS } from '../../train/knobs/dpo.ts';
import { knobShape } from '../../train/knobs/knob.ts';
import { SFT_KNOBS } from '../../train/knobs/sft.ts';
import { TTT_KNOBS } from '../../train/knobs/ttt.ts';
import { fileSource, sourcePath } from './files.ts';

const worker = new URL('./train-worker.ts', import.meta.url).href;

/** The inputs every training stage reads: a model artifact and its data files. */
const stageInputs = {
  model: artifactRefSchema,
  data: fileSource,
  evalData: fileSource.optional(),
};

/** `wb.sft` parameters: the inputs and the knobs declared in `train/knobs/sft.ts`. */
export const sftParams = z.object({ ...stageInputs, ...knobShape(SFT_KNOBS) });

/** `wb.dpo` parameters; `reference` defaults to the starting model, frozen. */
export const dpoParams = z.object({
  ...stageInputs,
  reference: artifactRefSchema.optional(),
  ...knobShape(DPO_KNOBS),
});

/** `wb.ttt` parameters: test-time training on retrieved neighbours, evaluated before and after. */
export const tttParams = z.object({
  model: artifactRefSchema,
  index: fileSource,
  bench: fileSource,
  ...knobShape(TTT_KNOBS),
});

/** The parameters {@link modelRecipe} reads; the others are config. */
type ModelJobInputs = {
  model: ArtifactRef;
  /** DPO's frozen reference, when it is not the starting model. */
  reference?: ArtifactRef;
  seed?: number;
};

/**
 * The recipe of a job that reads `p.model`: the parameters named in `sources` are input files,
 * hashed in that order; `reference` is an input too; every other parameter but the `ignored`
 * ones is config, and keys the run as it is.
 */
async function modelRecipe(
  p: ModelJobInputs & Record<string, unknown>,
  sources: string[],
  ctx: RecipeContext,
  ignored: string[] = [],
): Promise<JobRecipe> {
  const { model, reference, ...rest } = p;
  const files = [];
  const inputs: Record<string, string> = { model: model.key };
  for (const role of sources) {
    const source = rest[role] as z.infer<typeof fileSource> | undefined;
    if (source === undefined) continue;
    const file = await ctx.inputFile(sourcePath(source, ctx));
    files.push(file);
    inputs[role] = file.sha256;
  }
  if (reference) inputs.reference = reference.key;
  const notConfig = new Set([...sources, ...ignored]);
  const config = Object.fromEntries(Object.entries(rest).filter(([k]) => !notConfig.has(k)));
  const seed = p.seed ?? 0;
  const { config: modelConfig } = await readModelConfig(
    join(ctx.artifactDir(model), 'config.json'),
  );
  return { inputs, config, seed, files, facts: { parameters: parameterCount(modelConfig) } };
}

/**
 * About 6 x parameters x tokens floating-point operations per pass, at 1e11 per second on
 * 2 cores, with ~3 bytes per token.
 */
function trainingCost(
  parameters: number,
  bytes: number,
  passes: number,
  factor: number,
): CostEstimate {
  const tokens = bytes / 3;
  const seconds = 2 + (factor * 6 * parameters * tokens * passes) / 1e11;
  return {
    seconds,
    detail: `~${Math.round(tokens / 1000)}k tokens x ${passes} epoch(s), ${(parameters / 1e6).toFixed(1)}M parameters`,
  };
}

/** A job the training worker runs: heavy, since one of its steps already uses every core. */
function workerJob<S extends z.ZodType>(
  exportName: string,
  definition: Omit<JobDefinition<z.infer<S>>, 'params' | 'weight' | 'module' | 'exportName'> & {
    params: S;
  },
): JobDefinition {
  return defineJob({ ...definition, weight: 'heavy', module: worker, exportName });
}

/** What {@link stageJob} reads of a stage's parameters (the rest is config that keys the run). */
type StageInputs = ModelJobInputs & { maxSteps?: number; epochs?: number };

/**
 * A training stage's job: a checkpoint from a model artifact and data files, keyed by them and
 * the stage's knobs. `passCost`: one pass over a row, in SFT passes (forward and backward).
 */
function stageJob<S extends z.ZodType<StageInputs>>(stage: {
  name: string;
  summary: string;
  params: S;
  exportName: string;
  passCost: number;
}): JobDefinition {
  return workerJob(stage.exportName, {
    name: stage.name,
    summary: stage.summary,
    kind: 'checkpoint',
    params: stage.params,
    recipe: (p, ctx) => modelRecipe(p, ['data', 'evalData'], ctx),
    estimate: (p, recipe) => {
      const passes = p.maxSteps ? 1 : (p.epochs ?? 2);
      const parameters = recipe.facts?.parameters ?? 1e6;
      return trainingCost(parameters, recipe.files[0]?.bytes ?? 0, passes, stage.passCost);
    },
  });
}

/** `wb.sft`: supervised fine-tuning of a model artifact on a TRL-format dataset file. */
export const sftJob = stageJob({
  name: 'train.sft',
  summary: 'supervised fine-tuning (TRL messages or prompt/completion rows)',
  params: sftParams,
  exportName: 'sftWorker',
  passCost: 1,
});

/** `wb.dpo`: direct preference optimization against a frozen reference. */
export const dpoJob = stageJob({
  name: 'train.dpo',
  summary: 'direct preference optimization (prompt/chosen/rejected rows)',
  params: dpoParams,
  exportName: 'dpoWorker',
  // Chosen and rejected pass through the policy (forward and backward) and the reference.
  passCost: 2.5,
});

/** `wb.ttt`: per question, retrieve neighbours, take steps on them, answer, restore the weights. */
export const tttJob = workerJob('tttWorker', {
  name: 'ttt',
  summary: 'test-time training on retrieved neighbours (accuracy before and after)',
  kind: 'ttt',
  params: tttParams,
  // harness can only be workbench: left out so that stored TTT runs keep their keys.
  recipe: (p, ctx) => modelRecipe(p, ['bench', 'index'], ctx, ['harness']),
  // Per item: k x steps training steps on one ~512-token example, plus scoring before and after.
  estimate: (p, recipe) => {
    const items = p.limit ?? Math.max(1, Math.round((recipe.files[0]?.bytes ?? 0) / 500));
    const updates = (p.k ?? 1) * (p.steps ?? 1);
    // Reasoning answers are generated twice (base and adapted weights), ~0.016 s per token of
    // the budget (default: the eval layer's DEFAULT_REASONING_TOKENS).
    const answers = p.answer === 'reasoning' ? 2 * 0.016 * (p.maxTokens ?? 360) : 0;
    const perItem = 0.1 + answers + (updates * 6 * (recipe.facts?.parameters ?? 1e6) * 512) / 1e11;
    return { seconds: items * perItem, detail: `~${items} items x ${updates} update(s)` };
  },
});

/** `dpo.logps` parameters: a model's log-probabilities of each pair's chosen and rejected answer. */
export const dpoLogpsParams = z.object({
  model: artifactRefSchema,
  data: fileSource,
  limit: z.number().int().min(1).optional(),
  maxLength: z.number().int().min(8).optional(),
});

/**
 * `dpo.logps`: the summed log-probability a model gives each preference pair's chosen and
 * rejected answer (as DPO's reference pass computes them), one line per pair in `logps.jsonl`.
 * From a policy's and a reference's log-probs, DPO's rewards and loss follow for any beta.
 */
export const dpoLogpsJob = workerJob('dpoLogpsWorker', {
  name: 'dpo.logps',
  summary: "log-probabilities of each preference pair's chosen and rejected answer",
  kind: 'logps',
  params: dpoLogpsParams,
  recipe: (p, ctx) => modelRecipe(p, ['data'], ctx),
  // Forward passes only: a third of a training pass over both answers.
  estimate: (_p, recipe) =>
    trainingCost(recipe.facts?.parameters ?? 1e6, recipe.files[0]?.bytes ?? 0, 1, 2 / 3),
});
