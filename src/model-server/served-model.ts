import { InputError } from '../core/errors.ts';
import type { SamplingOptions } from '../model/sampler.ts';
import type { CompletionEvent } from '../model/text-generation.ts';
import type { ChatMessage } from '../model/tokenizer.ts';

export type { CompletionEvent } from '../model/text-generation.ts';

/** What a served model is asked to do: continue `prompt`. */
export interface CompletionRequest {
  /** The full prompt text (a rendered chat for chat requests). */
  prompt: string;
  /** Whether `prompt` came from `renderChat` (its template already wrote any special tokens). */
  chat: boolean;
  /** Most tokens to generate. */
  maxTokens: number;
  sampling: SamplingOptions;
  /** Generation ends before any of these strings (they are not returned). */
  stop: string[];
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** Any text generator the server can expose (a loaded CausalLM, or a stand-in in tests). */
export interface ServedModel {
  /** The model name clients pass as `model`. */
  readonly id: string;
  /** Renders chat messages into a prompt that ends where the assistant's reply begins. */
  renderChat(messages: ChatMessage[]): string;
  /**
   * Streams a completion. Bad input fails before the first event, as an InputError: a
   * ContextLengthError when the prompt leaves no room for a reply. Anything else is the
   * server's fault (a 500).
   */
  complete(request: CompletionRequest): AsyncIterable<CompletionEvent>;
}

/**
 * A prompt that leaves no room for a reply in the model's context. Servers tell it from other
 * bad input (OpenAI's `context_length_exceeded`).
 */
export class ContextLengthError extends InputError {
  override name = 'ContextLengthError';

  constructor(
    /** Tokens in the prompt. */
    readonly promptTokens: number,
    /** The model's context length (`max_position_embeddings`). */
    readonly contextTokens: number,
  ) {
    super(
      `the prompt has ${promptTokens} tokens and the model's context is ${contextTokens} (max_position_embeddings), which leaves no room for a reply`,
      { field: 'prompt' },
    );
  }
}
