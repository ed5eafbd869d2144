import { writeJsonAtomic } from '../core/atomic.ts';
import { InputError, UsageError } from '../core/errors.ts';
import { terminalProgress } from '../core/progress.ts';
import { synthesize, type SynthesisResult } from '../data/synthesize.ts';
import { parameterCount, readModelConfig, withAllocationCheck } from '../model/config.ts';
import { createModel, createModelFromConfig, MODEL_PRESETS, readCorpus } from '../model/init.ts';
import { BYTE_TO_CHAR } from '../model/bpe-trainer.ts';
import { CHATML_SPECIAL_TOKENS } from '../model/tokenizer.ts';
import { join } from 'node:path';
import { boolFlag, choiceFlag, intFlag, requiredFlag, stringFlag } from './command.ts';
import type { Command } from './command.ts';
import { jsonFlag, switchFlag, valueFlag } from './flags.ts';

/** The texts of a synthesis run a tokenizer should know: passages, instructions and answers (not the evaluation set). */
function builtInTexts(data: SynthesisResult): string[] {
  return [
    ...data.pretrain.map((r) => r.text),
    ...[...data.sftCommon, ...data.sftComplex].flatMap((r) => r.messages.map((m) => m.content)),
    ...data.dpo.flatMap((r) => [r.prompt, r.chosen, r.rejected]),
  ];
}

/** `finemed init-model`: a randomly initialised model of a preset with a tokenizer trained on a corpus. */
export const initModelCommand: Command = {
  name: 'init-model',
  summary: 'Create a randomly initialised model (Hugging Face folder) with a trained BPE tokenizer',
  details: [
    'Presets: tiny (~0.9M parameters; tests) and demo (~6M; trains in minutes on 2 CPU cores).',
    'Both are Qwen2-style decoders (ChatML chat template) initialised as Hugging Face does (N(0, 0.02)).',
    'Instead of a preset, --config takes a Hugging Face config.json (llama, qwen2 or mistral): its',
    'architecture and vocab_size are kept, its initializer_range used, and its special token ids replaced',
    "by the trained tokenizer's ChatML ones.",
    'The byte-level BPE tokenizer is trained on --corpus: a JSONL file (one object per line, text in',
    '--corpus-field, default "text") or a plain text file (documents separated by blank lines); without',
    '--corpus, on the built-in synthetic medical data of the same preset (passages, SFT and DPO texts).',
  ].join('\n'),
  flags: {
    preset: valueFlag(MODEL_PRESETS.join('|'), 'Model size'),
    config: valueFlag('FILE', 'A Hugging Face config.json to use instead of a preset'),
    out: valueFlag('DIR', 'Folder to write'),
    seed: valueFlag('N', 'Seed of the weights', '0'),
    corpus: valueFlag('FILE', 'Text to train the tokenizer on (default: built-in synthetic data)'),
    'corpus-field': valueFlag('NAME', 'JSONL field holding the text', 'text'),
    bf16: switchFlag('Store weights as bfloat16 (default float32)'),
    json: jsonFlag,
  },
  async run(ctx) {
    const preset = choiceFlag(ctx, 'preset', MODEL_PRESETS);
    const configPath = stringFlag(ctx, 'config');
    if (!preset === !configPath) {
      throw new UsageError(
        `give exactly one of --preset (${MODEL_PRESETS.join('|')}) and --config FILE`,
      );
    }
    const out = requiredFlag(ctx, 'out');
    const corpusPath = stringFlag(ctx, 'corpus');
    const seed = intFlag(ctx, 'seed') ?? 0;
    const given = configPath ? await readModelConfig(configPath) : undefined;
    const minVocab = CHATML_SPECIAL_TOKENS.length + BYTE_TO_CHAR.length;
    if (given && given.config.vocabSize < minVocab) {
      throw new InputError(`must be at least ${minVocab} (the special tokens and 256 bytes)`, {
        file: configPath,
        field: 'vocab_size',
      });
    }
    const progress = terminalProgress(ctx.stderr);
    const texts = corpusPath
      ? await readCorpus(corpusPath, stringFlag(ctx, 'corpus-field') ?? 'text')
      : builtInTexts(
          await synthesize(
            { preset: preset ?? 'demo' },
            { signal: ctx.signal, onProgress: progress },
          ),
        );
    const common = { seed, texts, onProgress: progress, signal: ctx.signal };
    const std = given?.raw.initializer_range;
    const model = given
      ? await withAllocationCheck(given.config, configPath!, () =>
          createModelFromConfig(given.config, {
            ...common,
            std: typeof std === 'number' ? std : undefined,
          }),
        )
      : createModel({ ...common, preset: preset! });
    progress.done();
    await model.save(out, { dtype: boolFlag(ctx, 'bf16') ? 'BF16' : 'F32' });
    const summary = {
      out,
      preset: preset ?? null,
      config: configPath ?? null,
      seed,
      parameters: parameterCount(model.config),
      vocab_size: model.config.vocabSize,
      tokenizer_vocab: model.tokenizer!.vocabSize,
      corpus_documents: texts.length,
    };
    await writeJsonAtomic(join(out, 'finemed_init.json'), {
      ...summary,
      corpus: corpusPath ?? `built-in synthetic data (finemed synth --preset ${preset ?? 'demo'})`,
    });
    await model.dispose();
    if (boolFlag(ctx, 'json')) ctx.stdout.write(JSON.stringify(summary) + '\n');
    else
      ctx.stdout.write(
        `wrote ${preset ?? configPath} model (${summary.parameters.toLocaleString('en-US')} parameters, vocabulary ${summary.vocab_size}) to ${out}\n`,
      );
  },
};
