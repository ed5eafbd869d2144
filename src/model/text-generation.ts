import type { CausalLM } from './causal-lm.ts';
import type { GenerateOptions } from './generation.ts';
import { StopStrings } from './sampler.ts';
import { TokenTextStream, type ChatMessage, type TextTokenizer } from './tokenizer.ts';

/** A piece of a completion: more text, or the end with its accounting. */
export type CompletionEvent =
  | { type: 'text'; text: string }
  | {
      type: 'done';
      finishReason: 'stop' | 'length';
      promptTokens: number;
      completionTokens: number;
    };

/** Options for {@link streamText}. */
export interface TextGenerationOptions extends Omit<GenerateOptions, 'useCache' | 'batchSize'> {
  /** Generation ends before any of these strings (they are not returned). */
  stop?: string[];
}

/**
 * Generates text from prompt token ids: tokens are decoded as they come (never splitting a
 * character), stop strings are held back until they can be ruled out, and the last event
 * reports the finish reason and token counts.
 */
export async function* streamText(
  model: CausalLM,
  promptIds: number[],
  options: TextGenerationOptions = {},
): AsyncGenerator<CompletionEvent> {
  const tokenizer = requireTokenizer(model);
  const decoder = new TokenTextStream(tokenizer, { skipSpecialTokens: true });
  const stops = new StopStrings(options.stop ?? []);
  const generator = model.generate(promptIds, options);
  let completionTokens = 0;
  let next = await generator.next();
  for (; !next.done; next = await generator.next()) {
    completionTokens++;
    const text = stops.push(decoder.push(next.value));
    if (text) yield { type: 'text', text };
    if (stops.done) {
      await generator.return({
        finishReason: 'stop',
        promptTokens: promptIds.length,
        completionTokens,
      });
      yield {
        type: 'done',
        finishReason: 'stop',
        promptTokens: promptIds.length,
        completionTokens,
      };
      return;
    }
  }
  const tail = stops.push(decoder.flush());
  const rest = stops.done ? tail : tail + stops.flush();
  if (rest) yield { type: 'text', text: rest };
  yield {
    type: 'done',
    finishReason: stops.done ? 'stop' : next.value.finishReason,
    promptTokens: promptIds.length,
    completionTokens,
  };
}

function requireTokenizer(model: CausalLM): TextTokenizer {
  if (!model.tokenizer)
    throw new Error('this model folder has no tokenizer.json, so it cannot work with text');
  return model.tokenizer;
}

/**
 * Renders a chat with the tokenizer's template (ending where the assistant's reply begins);
 * models without a template get a plain `role: content` transcript.
 */
export function renderChat(tokenizer: TextTokenizer, messages: ChatMessage[]): string {
  if (tokenizer.hasChatTemplate)
    return tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  return `${messages.map((m) => `${m.role}: ${m.content}`).join('\n')}\nassistant:`;
}
