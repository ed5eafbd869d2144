import { join } from 'node:path';
import { z } from 'zod';
import { parameterCount, readModelConfig } from '../../model/config.ts';
import { defineJob, type JobRecipe, type RecipeContext } from '../job.ts';
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

/** The recipe of a job that reads a model artifact and some files. */
async function recipeOf(
  model: ArtifactRef,
  sources: Record<string, z.infer<typeof fileSource> | undefined>,
  config: Record<string, unknown>,
  seed: number,
  ctx: RecipeContext,
): Promise<JobRecipe> {
  const files = [];
  const inputs: Record<string, string> = { model: model.key };
  for (const [role, source] of Object.entries(sources)) {
    if (source === undefined) continue;
    const file = await ctx.inputFile(sourcePath(source, ctx));
    files.push(file);
    inputs[role] = file.sha256;
  }
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

async function stageRecipe(
  p: z.infer<typeof sftParams> & Record<string, unknown>,
  ctx: RecipeContext,
): Promise<JobRecipe> {
  const { model, data, evalData, ...config } = p;
  return recipeOf(model, { data, evalData }, config, p.seed, ctx);
}

function stageEstimate(
  p: z.infer<typeof sftParams>,
  recipe: JobRecipe,
  factor: number,
): CostEstimate {
  const passes = p.maxSteps ? 1 : (p.epochs ?? 2);
  return trainingCost(recipe.facts?.parameters ?? 1e6, recipe.files[0]?.bytes ?? 0, passes, factor);
}

/** `wb.sft`: supervised fine-tuning of a model artifact on a TRL-format dataset file. */
export const sftJob = defineJob({
  name: 'train.sft',
  summary: 'supervised fine-tuning (TRL messages or prompt/completion rows)',
  weight: 'heavy',
  kind: 'checkpoint',
  params: sftParams,
  recipe: stageRecipe,
  estimate: (p, recipe) => stageEstimate(p, recipe, 1),
  module: worker,
  exportName: 'sftWorker',
});

/** `wb.dpo`: direct preference optimization against a frozen reference. */
export const dpoJob = defineJob({
  name: 'train.dpo',
  summary: 'direct preference optimization (prompt/chosen/rejected rows)',
  weight: 'heavy',
  kind: 'checkpoint',
  params: dpoParams,
  recipe: async (p, ctx) => {
    const recipe = await stageRecipe({ ...p, reference: undefined }, ctx);
    if (p.reference) recipe.inputs.reference = p.reference.key;
    return recipe;
  },
  // Chosen and rejected pass through the policy (forward and backward) and the reference.
  estimate: (p, recipe) => stageEstimate(p, recipe, 2.5),
  module: worker,
  exportName: 'dpoWorker',
});

/** `wb.ttt`: per question, retrieve neighbours, take steps on them, answer, restore the weights. */
export const tttJob = defineJob({
  name: 'ttt',
  summary: 'test-time training on retrieved neighbours (accuracy before and after)',
  weight: 'heavy',
  kind: 'ttt',
  params: tttParams,
  recipe: async (p, ctx) => {
    // harness can only be workbench: left out so that stored TTT runs keep their keys.
    const { model, index, bench, harness: _harness, ...config } = p;
    return recipeOf(model, { bench, index }, config, p.seed, ctx);
  },
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
  module: worker,
  exportName: 'tttWorker',
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
export const dpoLogpsJob = defineJob({
  name: 'dpo.logps',
  summary: "log-probabilities of each preference pair's chosen and rejected answer",
  weight: 'heavy',
  kind: 'logps',
  params: dpoLogpsParams,
  recipe: async (p, ctx) => {
    const { model, data, ...config } = p;
    return recipeOf(model, { data }, config, 0, ctx);
  },
  // Forward passes only: a third of a training pass over both answers.
  estimate: (_p, recipe) =>
    trainingCost(recipe.facts?.parameters ?? 1e6, recipe.files[0]?.bytes ?? 0, 1, 2 / 3),
  module: worker,
  exportName: 'dpoLogpsWorker',
});
