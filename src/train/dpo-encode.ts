import { InputError } from '../core/errors.ts';
import type { ChatMessage, TextTokenizer } from '../model/tokenizer.ts';
import type { DpoExample, TurnContent } from './examples.ts';
import type { EncodedPair } from './dpo-loss.ts';
import type { TruncationPolicy } from './encode.ts';

/** How preference rows become token ids. */
export interface DpoEncodeOptions {
  /** Longest prompt + completion in tokens. */
  maxLength: number;
  /** Too-long pairs: stop with an error, or cut the completion (default `truncate`). */
  truncation?: TruncationPolicy;
  /**
   * Render plain-string rows with the chat template as a user turn and an assistant reply
   * (default: when the tokenizer has a template). TRL concatenates plain strings as they are;
   * `false` does that. Message-list rows always use the template.
   */
  chat?: boolean;
}

const asMessages = (turn: TurnContent, role: string): ChatMessage[] =>
  typeof turn === 'string' ? [{ role, content: turn }] : turn;

/**
 * The prompt and completion texts of one side, as TRL renders conversational rows: the prompt
 * with the generation prompt appended, the completion as what the whole conversation adds
 * beyond it (trailing whitespace left out, the end-of-turn token kept).
 */
export function renderPair(
  tokenizer: TextTokenizer,
  prompt: TurnContent,
  completion: TurnContent,
): { prompt: string; completion: string } {
  const promptMessages = asMessages(prompt, 'user');
  const text = tokenizer.applyChatTemplate(promptMessages, { addGenerationPrompt: true });
  const whole = tokenizer.applyChatTemplate([
    ...promptMessages,
    ...asMessages(completion, 'assistant'),
  ]);
  if (!whole.startsWith(text))
    throw new InputError(
      'the chat template does not render the prompt as a prefix of the conversation',
      {
        field: 'prompt',
      },
    );
  return { prompt: text, completion: whole.slice(text.length).trimEnd() };
}

function encodeSide(
  tokenizer: TextTokenizer,
  example: DpoExample,
  side: 'chosen' | 'rejected',
  chat: boolean,
): { prompt: number[]; completion: number[] } {
  const conversational =
    chat || typeof example.prompt !== 'string' || typeof example[side] !== 'string';
  if (conversational) {
    const { prompt, completion } = renderPair(tokenizer, example.prompt, example[side]);
    return {
      prompt: tokenizer.encode(prompt, { addSpecialTokens: false }),
      completion: tokenizer.encode(completion, { addSpecialTokens: false }),
    };
  }
  const completion = tokenizer.encode(example[side] as string, { addSpecialTokens: false });
  if (tokenizer.eosTokenId !== undefined) completion.push(tokenizer.eosTokenId);
  return { prompt: tokenizer.encode(example.prompt as string), completion };
}

/** Encoded pairs and what the length limit did. */
export interface EncodedPairs {
  /** Pairs ready for training. */
  pairs: EncodedPair[];
  /** Pairs whose completions were cut. */
  truncated: number;
  /** Pairs dropped because the prompt alone fills the maximum length. */
  dropped: number;
}

/** Tokenizes preference rows, applying the length policy. */
export function encodeDpo(
  tokenizer: TextTokenizer,
  examples: readonly DpoExample[],
  options: DpoEncodeOptions,
): EncodedPairs {
  const chat = options.chat ?? tokenizer.hasChatTemplate;
  const pairs: EncodedPair[] = [];
  let truncated = 0;
  let dropped = 0;
  for (const example of examples) {
    const where = { file: example.source.file, line: example.source.line };
    let chosen;
    let rejected;
    try {
      chosen = encodeSide(tokenizer, example, 'chosen', chat);
      rejected = encodeSide(tokenizer, example, 'rejected', chat);
    } catch (error) {
      if (error instanceof InputError)
        throw new InputError(error.reason, { ...where, field: error.field });
      throw error;
    }
    const prompt = chosen.prompt;
    const longest = prompt.length + Math.max(chosen.completion.length, rejected.completion.length);
    if (longest > options.maxLength) {
      if ((options.truncation ?? 'truncate') === 'error')
        throw new InputError(
          `the pair has ${longest} tokens, more than the maximum length ${options.maxLength} (raise --max-length or use truncation)`,
          where,
        );
      if (prompt.length >= options.maxLength) {
        dropped++;
        continue;
      }
      truncated++;
    }
    const room = options.maxLength - prompt.length;
    pairs.push({
      prompt,
      chosen: chosen.completion.slice(0, room),
      rejected: rejected.completion.slice(0, room),
      source: example.source,
    });
  }
  return { pairs, truncated, dropped };
}
