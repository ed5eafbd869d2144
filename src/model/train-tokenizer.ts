import { bpeTokenizerJson, trainByteLevelBpe, type BpeTrainOptions } from './bpe-trainer.ts';
import { CHATML_SPECIAL_TOKENS, TextTokenizer, chatMlTokenizerConfig } from './tokenizer.ts';

/** Options for {@link trainChatTokenizer}. */
export interface ChatTokenizerOptions extends Omit<BpeTrainOptions, 'specialTokens'> {
  /** `model_max_length` recorded in tokenizer_config.json. */
  modelMaxLength: number;
}

/**
 * Trains the byte-level BPE tokenizer of a built-in model on `texts`, with the ChatML special
 * tokens (`<|endoftext|>` = 0, `<|im_start|>` = 1, `<|im_end|>` = 2) and chat template.
 */
export function trainChatTokenizer(
  texts: Iterable<string>,
  options: ChatTokenizerOptions,
): TextTokenizer {
  const bpe = trainByteLevelBpe(texts, { ...options, specialTokens: [...CHATML_SPECIAL_TOKENS] });
  return TextTokenizer.fromJson(
    bpeTokenizerJson(bpe),
    chatMlTokenizerConfig(options.modelMaxLength),
  );
}
