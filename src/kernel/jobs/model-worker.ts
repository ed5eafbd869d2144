// Runs in a job's worker thread: the model layer (and ONNX Runtime) load here, never in the kernel's thread.
import { copyFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createModel, readCorpus, type ModelPreset } from '../../model/init.ts';
import { loadModel as loadCausalLM } from '../../model/causal-lm.ts';
import { parameterCount, readModelConfig } from '../../model/config.ts';
import type { JobContext } from '../job.ts';
import type { ArtifactRef } from '../protocol.ts';
import { sourcePath, type FileSource } from './files.ts';
import { MODEL_FILES } from './model.ts';

/** Worker side of `model.init`. */
export async function initModel(
  params: { preset: ModelPreset; corpus: FileSource; corpusField: string },
  ctx: JobContext,
): Promise<unknown> {
  const texts = await readCorpus(sourcePath(params.corpus, ctx), params.corpusField);
  const model = createModel({
    preset: params.preset,
    seed: ctx.seed,
    texts,
    onProgress: ctx.progress,
    signal: ctx.signal,
  });
  try {
    await model.save(ctx.dir);
    return {
      preset: params.preset,
      parameters: parameterCount(model.config),
      vocabSize: model.config.vocabSize,
      documents: texts.length,
    };
  } finally {
    await model.dispose();
  }
}

/** Worker side of `model.load`. */
export async function loadModel(params: { path: string }, ctx: JobContext): Promise<unknown> {
  const dir = ctx.resolvePath(params.path);
  for (const name of (await readdir(dir)).filter((n) => MODEL_FILES.test(n))) {
    ctx.signal.throwIfAborted();
    await copyFile(join(dir, name), join(ctx.dir, name));
  }
  const { config } = await readModelConfig(join(ctx.dir, 'config.json'));
  return {
    source: basename(dir),
    modelType: config.modelType,
    parameters: parameterCount(config),
    layers: config.numLayers,
    hiddenSize: config.hiddenSize,
    vocabSize: config.vocabSize,
  };
}

/** Worker side of `generate`. */
export async function generate(
  params: { model: ArtifactRef; prompt: string; system?: string; maxTokens: number },
  ctx: JobContext,
): Promise<unknown> {
  const model = await loadCausalLM(ctx.artifactDir(params.model));
  try {
    const tokenizer = model.tokenizer;
    if (!tokenizer) throw new Error('the model has no tokenizer (tokenizer.json)');
    const messages = [
      ...(params.system ? [{ role: 'system' as const, content: params.system }] : []),
      { role: 'user' as const, content: params.prompt },
    ];
    const prompt = tokenizer.encodeChat(messages, { addGenerationPrompt: true });
    const [row] = await model.generateBatch([prompt], {
      maxTokens: params.maxTokens,
      signal: ctx.signal,
    });
    return {
      text: tokenizer.decode(row.tokens, { skipSpecialTokens: true }),
      promptTokens: row.promptTokens,
      completionTokens: row.completionTokens,
      finishReason: row.finishReason,
    };
  } finally {
    await model.dispose();
  }
}
