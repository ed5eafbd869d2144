import { MODEL_PRESETS } from '../model/init.ts';
import { benchGenerate } from '../model/bench-generate.ts';
import { boolFlag, choiceFlag, intFlag } from './command.ts';
import type { Command } from './command.ts';
import { jsonFlag, noTorchFlag, valueFlag } from './flags.ts';

/** `finemed bench generate`: decode/prefill throughput with the KV cache, against PyTorch eager. */
export const benchGenerateCommand: Command = {
  name: 'bench generate',
  summary:
    'Measure generation speed (decode tokens/s at batch 1 and 8, prefill tokens/s) vs PyTorch',
  details: [
    'Times a randomly initialised preset model (speed does not depend on the weights) and, when',
    '/usr/bin/python3 can import torch, the same weights in PyTorch eager with a KV cache',
    '(scripts/bench/torch_generate.py; OpenBLAS with OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs),',
    'in interleaved rounds; medians are reported. Target: ratio_decode_b1 >= 1.5.',
  ].join('\n'),
  flags: {
    preset: valueFlag(MODEL_PRESETS.join('|'), 'Model size', 'demo'),
    threads: valueFlag('N', 'Threads for both sides', '2'),
    rounds: valueFlag('N', 'Interleaved rounds', '3'),
    'new-tokens': valueFlag('N', 'Tokens decoded per measurement', '64'),
    batch: valueFlag('N', 'Rows of the batched decode', '8'),
    'no-torch': noTorchFlag,
    json: jsonFlag,
  },
  async run(ctx) {
    const result = await benchGenerate({
      preset: choiceFlag(ctx, 'preset', MODEL_PRESETS) ?? 'demo',
      threads: intFlag(ctx, 'threads', { min: 1, max: 64 }) ?? 2,
      rounds: intFlag(ctx, 'rounds', { min: 1, max: 20 }) ?? 3,
      newTokens: intFlag(ctx, 'new-tokens', { min: 2, max: 4096 }) ?? 64,
      batch: intFlag(ctx, 'batch', { min: 1, max: 256 }) ?? 8,
      skipTorch: boolFlag(ctx, 'no-torch'),
      log: (line) => ctx.stderr.write(`${line}\n`),
    });
    if (boolFlag(ctx, 'json')) {
      ctx.stdout.write(JSON.stringify(result) + '\n');
      return;
    }
    for (const [key, value] of Object.entries(result)) {
      ctx.stdout.write(
        `${key.padEnd(24)} ${typeof value === 'object' ? JSON.stringify(value) : value}\n`,
      );
    }
  },
};
