import { InputError } from '../core/errors.ts';
import { streamText } from '../model/text-generation.ts';
import { boolFlag, intFlag, requiredFlag, stringFlag } from './command.ts';
import type { Command } from './command.ts';
import { repeatableFlag, switchFlag, valueFlag } from './flags.ts';
import { loadModelFromFlags, modelFlags, samplingFlags, samplingFromFlags } from './model-flags.ts';

/** `finemed generate`: streams a model's continuation (or chat reply) to stdout. */
export const generateCommand: Command = {
  name: 'generate',
  summary: 'Generate text from a model, streamed to stdout',
  details: "With --chat the prompt is a user message rendered by the tokenizer's chat template.",
  flags: {
    ...modelFlags,
    prompt: valueFlag('TEXT', 'The prompt (or user message with --chat)'),
    chat: switchFlag('Treat the prompt as a chat message'),
    system: valueFlag('TEXT', 'System message (with --chat)'),
    'max-tokens': valueFlag('N', 'Most new tokens', '256'),
    stop: repeatableFlag('TEXT', 'Stop before this string (repeatable)'),
    ...samplingFlags,
  },
  async run(ctx) {
    const prompt = requiredFlag(ctx, 'prompt');
    const maxTokens = intFlag(ctx, 'max-tokens', { min: 1 }) ?? 256;
    const sampling = samplingFromFlags(ctx);
    const model = await loadModelFromFlags(ctx);
    try {
      const tokenizer = model.tokenizer;
      if (!tokenizer)
        throw new InputError('the model folder has no tokenizer.json', {
          file: requiredFlag(ctx, 'model'),
        });
      const system = stringFlag(ctx, 'system');
      const ids = boolFlag(ctx, 'chat')
        ? tokenizer.encodeChat(
            [
              ...(system ? [{ role: 'system', content: system }] : []),
              { role: 'user', content: prompt },
            ],
            {
              addGenerationPrompt: true,
            },
          )
        : tokenizer.encode(prompt);
      const stop = (ctx.flags.stop as string[] | undefined) ?? [];
      let summary;
      for await (const event of streamText(model, ids, {
        ...sampling,
        maxTokens,
        stop,
        signal: ctx.signal,
      })) {
        if (event.type === 'text') ctx.stdout.write(event.text);
        else summary = event;
      }
      ctx.stdout.write('\n');
      if (summary?.type === 'done') {
        ctx.stderr.write(`[${summary.completionTokens} tokens, finish: ${summary.finishReason}]\n`);
      }
    } finally {
      await model.dispose();
    }
  },
};
