import { writeJsonAtomic } from '../core/atomic.ts';
import { UsageError } from '../core/errors.ts';
import { terminalProgress } from '../core/progress.ts';
import { parameterCount } from '../model/config.ts';
import { createModel, MODEL_PRESETS, readCorpus } from '../model/init.ts';
import { join } from 'node:path';
import {
  boolFlag,
  choiceFlag,
  intFlag,
  requiredFlag,
  stringFlag,
  type Command,
} from './command.ts';

/** `finemed init-model`: a randomly initialised model of a preset with a tokenizer trained on a corpus. */
export const initModelCommand: Command = {
  name: 'init-model',
  summary: 'Create a randomly initialised model (Hugging Face folder) with a trained BPE tokenizer',
  details: [
    'Presets: tiny (~0.9M parameters; tests) and demo (~6M; trains in minutes on 2 CPU cores).',
    'Both are Qwen2-style decoders (ChatML chat template) initialised as Hugging Face does (N(0, 0.02)).',
    'The byte-level BPE tokenizer is trained on --corpus: a JSONL file (one object per line, text in',
    '--corpus-field, default "text") or a plain text file (documents separated by blank lines).',
  ].join('\n'),
  flags: {
    preset: { type: 'string', value: MODEL_PRESETS.join('|'), description: 'Model size' },
    out: { type: 'string', value: 'DIR', description: 'Folder to write' },
    seed: { type: 'string', value: 'N', description: 'Seed of the weights', default: '0' },
    corpus: {
      type: 'string',
      value: 'FILE',
      description: 'Text to train the tokenizer on (required)',
    },
    'corpus-field': {
      type: 'string',
      value: 'NAME',
      description: 'JSONL field holding the text',
      default: 'text',
    },
    bf16: { type: 'boolean', description: 'Store weights as bfloat16 (default float32)' },
    json: { type: 'boolean', description: 'Print one JSON object on the last line' },
  },
  async run(ctx) {
    const preset = choiceFlag(ctx, 'preset', MODEL_PRESETS);
    if (!preset) throw new UsageError(`--preset is required (${MODEL_PRESETS.join('|')})`);
    const out = requiredFlag(ctx, 'out');
    const corpusPath = stringFlag(ctx, 'corpus');
    if (!corpusPath) {
      throw new UsageError(
        '--corpus is required: the tokenizer is trained on it (a built-in corpus is not available yet)',
      );
    }
    const seed = intFlag(ctx, 'seed') ?? 0;
    const texts = await readCorpus(corpusPath, stringFlag(ctx, 'corpus-field') ?? 'text');
    const progress = terminalProgress(ctx.stderr);
    const model = createModel({ preset, seed, texts, onProgress: progress, signal: ctx.signal });
    progress.done();
    await model.save(out, { dtype: boolFlag(ctx, 'bf16') ? 'BF16' : 'F32' });
    const summary = {
      out,
      preset,
      seed,
      parameters: parameterCount(model.config),
      vocab_size: model.config.vocabSize,
      tokenizer_vocab: model.tokenizer!.vocabSize,
      corpus_documents: texts.length,
    };
    await writeJsonAtomic(join(out, 'finemed_init.json'), { ...summary, corpus: corpusPath });
    await model.dispose();
    if (boolFlag(ctx, 'json')) ctx.stdout.write(JSON.stringify(summary) + '\n');
    else
      ctx.stdout.write(
        `wrote ${preset} model (${summary.parameters.toLocaleString('en-US')} parameters, vocabulary ${summary.vocab_size}) to ${out}\n`,
      );
  },
};
