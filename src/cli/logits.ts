import { UsageError } from '../core/errors.ts';
import { argmax } from '../model/sampler.ts';
import { boolFlag, requiredFlag } from './command.ts';
import type { Command } from './command.ts';
import { switchFlag, valueFlag } from './flags.ts';
import { loadModelFromFlags, modelFlags } from './model-flags.ts';

/** `finemed logits`: the model's logits for given token ids (to check it against other implementations). */
export const logitsCommand: Command = {
  name: 'logits',
  summary: 'Print the logits of a model for given token ids',
  details:
    'With --json prints {"logits": [[...vocabulary floats...] per position]} (float32 values).',
  flags: {
    ...modelFlags,
    ids: valueFlag('1,2,3', 'Comma-separated token ids'),
    json: switchFlag('Print the full logits as one JSON object'),
  },
  async run(ctx) {
    const raw = requiredFlag(ctx, 'ids');
    const ids = raw.split(',').map((s) => Number(s.trim()));
    if (ids.some((id) => !Number.isInteger(id) || id < 0)) {
      throw new UsageError(`--ids must be comma-separated non-negative integers, got '${raw}'`);
    }
    const model = await loadModelFromFlags(ctx);
    try {
      const { data } = await model.logits([ids]);
      const V = model.config.vocabSize;
      const rows = ids.map((_, t) => data.subarray(t * V, (t + 1) * V));
      if (boolFlag(ctx, 'json')) {
        ctx.stdout.write(JSON.stringify({ logits: rows.map((r) => Array.from(r)) }) + '\n');
        return;
      }
      rows.forEach((row, t) => {
        const best = argmax(row);
        const text = model.tokenizer?.tokenText(best);
        ctx.stdout.write(
          `position ${t}: id ${ids[t]} -> argmax ${best}${text === undefined ? '' : ` ${JSON.stringify(text)}`} (logit ${row[best].toFixed(4)})\n`,
        );
      });
    } finally {
      await model.dispose();
    }
  },
};
