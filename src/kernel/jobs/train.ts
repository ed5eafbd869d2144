import { join } from 'node:path';
import { z } from 'zod';
import { parameterCount, readModelConfig } from '../../model/config.ts';
import { defineJob, type JobRecipe, type RecipeContext } from '../job.ts';
import { artifactRefSchema, type ArtifactRef, type CostEstimate } from '../protocol.ts';
import { fileSource, sourcePath } from './files.ts';

const worker = new URL('./train-worker.ts', import.meta.url).href;

/**
 * The training layer's preset, DPO loss and retriever names, repeated because importing those
 * modules would load ONNX Runtime into the kernel's thread (a test keeps the lists equal).
 */
export const TRAIN_PRESET_NAMES = ['tiny', 'demo', 'paper'] as const;
/** See {@link TRAIN_PRESET_NAMES}. */
export const DPO_LOSS_NAMES = ['sigmoid', 'ipo', 'hinge'] as const;
/** See {@link TRAIN_PRESET_NAMES}. */
export const RETRIEVER_NAMES = ['bm25', 'dense'] as const;

const lora = z.object({
  r: z.number().int().min(1),
  alpha: z.number().positive().optional(),
  dropout: z.number().min(0).max(1).optional(),
  targetModules: z.array(z.string()).optional(),
});

/** Settings every training stage takes (`wb.sft`, `wb.dpo`). */
const stageParams = z.object({
  model: artifactRefSchema,
  data: fileSource,
  evalData: fileSource.optional(),
  evalSplit: z.number().min(0).max(0.5).optional(),
  preset: z.enum(TRAIN_PRESET_NAMES).optional(),
  seed: z.number().int().default(0),
  lr: z.number().positive().optional(),
  epochs: z.number().positive().optional(),
  maxSteps: z.number().int().min(1).optional(),
  batchSize: z.number().int().min(1).optional(),
  gradAccum: z.number().int().min(1).optional(),
  maxLength: z.number().int().min(8).optional(),
  truncation: z.enum(['error', 'truncate']).optional(),
  schedule: z.enum(['constant', 'linear', 'cosine']).optional(),
  warmup: z.number().min(0).optional(),
  weightDecay: z.number().min(0).optional(),
  maxGradNorm: z.number().min(0).optional(),
  optimizer: z.enum(['adamw', 'sgd']).optional(),
  lora: lora.optional(),
  evalEvery: z.number().int().min(1).optional(),
  saveEvery: z.number().int().min(1).optional(),
  skipBadRows: z.boolean().default(false),
  maxRowBytes: z.number().int().min(1).optional(),
});

/** `wb.sft` parameters. */
export const sftParams = stageParams.extend({
  packing: z.boolean().optional(),
  trainOnPrompt: z.boolean().optional(),
});

/** `wb.dpo` parameters; `reference` defaults to the starting model, frozen. */
export const dpoParams = stageParams.extend({
  reference: artifactRefSchema.optional(),
  beta: z.number().positive().optional(),
  loss: z.enum(DPO_LOSS_NAMES).optional(),
  labelSmoothing: z.number().min(0).max(0.5).optional(),
  chat: z.boolean().optional(),
});

/** `wb.ttt` parameters: test-time training on retrieved neighbours, evaluated before and after. */
export const tttParams = z.object({
  model: artifactRefSchema,
  index: fileSource,
  bench: fileSource,
  format: z.enum(['medqa', 'medmcqa', 'pubmedqa', 'mmlu', 'mmlupro']).optional(),
  preset: z.enum(TRAIN_PRESET_NAMES).optional(),
  seed: z.number().int().default(0),
  k: z.number().int().min(1).optional(),
  steps: z.number().int().min(1).optional(),
  lr: z.number().positive().optional(),
  optimizer: z.enum(['adamw', 'sgd']).optional(),
  lora: lora.optional(),
  retriever: z.enum(RETRIEVER_NAMES).optional(),
  field: z.enum(['prompt', 'all']).optional(),
  /** TTT scores with the workbench profile; named so one scoring object serves wb.evaluate too. */
  harness: z.literal('workbench').optional(),
  mode: z.enum(['loglik', 'generate']).optional(),
  answer: z.enum(['letter', 'reasoning']).optional(),
  maxTokens: z.number().int().min(1).optional(),
  choiceStyle: z.enum(['letter', 'text']).optional(),
  chat: z.boolean().optional(),
  answerPrefix: z.string().optional(),
  limit: z.number().int().min(1).optional(),
  shots: z.number().int().min(0).optional(),
  skipBadRows: z.boolean().default(false),
  maxRowBytes: z.number().int().min(1).optional(),
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
 * 2 cores (ENGINE-NOTES measured 1.5e11 for a 4M-parameter model), with ~3 bytes per token.
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
  p: z.infer<typeof stageParams> & Record<string, unknown>,
  ctx: RecipeContext,
): Promise<JobRecipe> {
  const { model, data, evalData, ...config } = p;
  return recipeOf(model, { data, evalData }, config, p.seed, ctx);
}

function stageEstimate(
  p: z.infer<typeof stageParams>,
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
