import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { writeJsonAtomic } from '../core/atomic.ts';
import { InputError } from '../core/errors.ts';
import { readJsonObject } from './json-file.ts';

/** One chat turn. */
export interface ChatMessage {
  /** `system`, `user` or `assistant` (templates may accept others). */
  role: string;
  /** The turn's text. */
  content: string;
}

type Json = Record<string, unknown>;

/**
 * A Hugging Face tokenizer (`tokenizer.json` + `tokenizer_config.json`) run by
 * @huggingface/tokenizers, with the chat template rendered by @huggingface/jinja.
 */
export class TextTokenizer {
  /** Beginning-of-sequence token id, if the tokenizer declares one. */
  readonly bosTokenId?: number;
  /** End-of-sequence (end-of-turn for chat models) token id, if declared. */
  readonly eosTokenId?: number;
  /** Padding token id, if declared. */
  readonly padTokenId?: number;
  /** One more than the largest token id (added tokens included). */
  readonly vocabSize: number;
  private readonly template?: Template;

  private constructor(
    private readonly inner: Tokenizer,
    /** The parsed `tokenizer.json`. */
    readonly json: Json,
    /** The parsed `tokenizer_config.json` (empty when absent). */
    readonly config: Json,
    /** Where the tokenizer came from, for error messages. */
    readonly source: string,
    chatTemplate: string | undefined,
  ) {
    this.bosTokenId = this.specialId('bos_token');
    this.eosTokenId = this.specialId('eos_token');
    this.padTokenId = this.specialId('pad_token');
    let max = -1;
    for (const id of inner.get_vocab(true).values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    if (chatTemplate !== undefined) {
      try {
        this.template = new Template(chatTemplate);
      } catch (error) {
        throw new InputError(`chat template does not parse (${(error as Error).message})`, {
          file: join(source, 'tokenizer_config.json'),
          field: 'chat_template',
        });
      }
    }
  }

  /** Loads `dir/tokenizer.json` and, when present, `tokenizer_config.json` and `chat_template.jinja`. */
  static async load(dir: string): Promise<TextTokenizer> {
    const json = await readJsonObject(join(dir, 'tokenizer.json'));
    const configPath = join(dir, 'tokenizer_config.json');
    const config = existsSync(configPath) ? await readJsonObject(configPath) : {};
    const templatePath = join(dir, 'chat_template.jinja');
    const template = existsSync(templatePath) ? await readFile(templatePath, 'utf8') : undefined;
    return TextTokenizer.fromJson(json, config, dir, template);
  }

  /** Builds a tokenizer from parsed files; `source` (a folder) names them in errors. */
  static fromJson(
    json: Json,
    config: Json = {},
    source = '<memory>',
    chatTemplate?: string,
  ): TextTokenizer {
    const file = join(source, 'tokenizer.json');
    const model = json.model as Json | undefined;
    if (!model || typeof model !== 'object')
      throw new InputError('missing "model"', { file, field: 'model' });
    if (model.type === 'BPE' || model.type === undefined) {
      if (!model.vocab || typeof model.vocab !== 'object') {
        throw new InputError('a BPE model needs a "vocab" object', { file, field: 'model.vocab' });
      }
      if (!Array.isArray(model.merges)) {
        throw new InputError('a BPE model needs a "merges" list', { file, field: 'model.merges' });
      }
    }
    let inner: Tokenizer;
    try {
      // The library requires every component key; real files may omit the null ones.
      inner = new Tokenizer(
        {
          normalizer: null,
          pre_tokenizer: null,
          post_processor: null,
          decoder: null,
          added_tokens: [],
          ...json,
        },
        config,
      );
    } catch (error) {
      throw new InputError(`cannot build the tokenizer (${(error as Error).message})`, { file });
    }
    return new TextTokenizer(
      inner,
      json,
      config,
      source,
      chatTemplate ?? pickTemplate(config.chat_template),
    );
  }

  /**
   * Whether the tokenizer's default encoding (Hugging Face `add_special_tokens=True`) starts
   * with BOS: `add_bos_token` in tokenizer_config.json when it says (Llama 2, Mistral, Gemma:
   * true; Qwen2: false), else whether the post-processor puts BOS first (Llama 3).
   */
  get addsBos(): boolean {
    if (this.bosTokenId === undefined) return false;
    if (typeof this.config.add_bos_token === 'boolean') return this.config.add_bos_token;
    return (
      this.encode('a', { addSpecialTokens: true })[0] === this.bosTokenId &&
      this.encode('a', { addSpecialTokens: false })[0] !== this.bosTokenId
    );
  }

  /** Token ids of `text`; `addSpecialTokens` runs the post-processor (e.g. Llama 3's BOS). */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.inner.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /** Text of token ids. */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    // @huggingface/tokenizers throws on an empty list; Hugging Face tokenizers returns ''.
    if (ids.length === 0) return '';
    return this.inner.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  /** The id of a token string, if the vocabulary has it. */
  tokenId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  /** The token string of an id. */
  tokenText(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /** Whether `tokenizer_config.json` (or `chat_template.jinja`) carries a chat template. */
  get hasChatTemplate(): boolean {
    return this.template !== undefined;
  }

  /** Renders messages with the chat template, as transformers' `apply_chat_template(tokenize=False)`. */
  applyChatTemplate(
    messages: ChatMessage[],
    options: { addGenerationPrompt?: boolean } = {},
  ): string {
    if (!this.template) {
      throw new InputError('this tokenizer has no chat template', {
        file: join(this.source, 'tokenizer_config.json'),
        field: 'chat_template',
      });
    }
    return this.template.render({
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: tokenString(this.config.bos_token) ?? '',
      eos_token: tokenString(this.config.eos_token) ?? '',
      pad_token: tokenString(this.config.pad_token) ?? '',
      unk_token: tokenString(this.config.unk_token) ?? '',
    });
  }

  /** Token ids of a rendered chat: the template already writes any BOS, so none is added. */
  encodeChat(messages: ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, options), { addSpecialTokens: false });
  }

  /** Writes `tokenizer.json` and `tokenizer_config.json` into `dir`, atomically. */
  async save(dir: string): Promise<void> {
    await writeJsonAtomic(join(dir, 'tokenizer.json'), this.json);
    await writeJsonAtomic(join(dir, 'tokenizer_config.json'), this.config);
  }

  /** Ids of every special (added) token. */
  specialTokenIds(): Set<number> {
    const ids = new Set<number>();
    for (const [id, token] of this.inner.get_added_tokens_decoder()) if (token.special) ids.add(id);
    return ids;
  }

  private specialId(key: string): number | undefined {
    const token = tokenString(this.config[key]);
    return token === undefined ? undefined : this.inner.token_to_id(token);
  }
}

/** A token given as a string or as an AddedToken object `{content}`. */
function tokenString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Json).content === 'string') {
    return (value as Json).content as string;
  }
  return undefined;
}

/** `chat_template` is a string, or a list of named templates of which `default` is the chat one. */
function pickTemplate(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value as { name?: string; template?: string }[];
    return (named.find((t) => t.name === 'default') ?? named[0])?.template;
  }
  return undefined;
}

/**
 * Turns a stream of token ids into text deltas: byte-level tokens can end inside a UTF-8
 * character, so text is held back while the decoded tail is an incomplete character.
 */
export class TokenTextStream {
  private ids: number[] = [];
  private printed = 0;

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly options: { skipSpecialTokens?: boolean } = {},
  ) {}

  /** Adds a token and returns the text it completes (possibly empty). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.tokenizer.decode(this.ids, this.options);
    if (text.endsWith('\uFFFD')) return '';
    const delta = text.slice(this.printed);
    this.printed = text.length;
    // Keep the window short; the last token stays as context for decoders that strip a leading space.
    if (this.ids.length > 32) {
      this.ids = this.ids.slice(-1);
      this.printed = this.tokenizer.decode(this.ids, this.options).length;
    }
    return delta;
  }

  /** Text still held back (an incomplete character at the very end). */
  flush(): string {
    const text = this.tokenizer.decode(this.ids, this.options);
    const delta = text.slice(this.printed);
    this.ids = [];
    this.printed = 0;
    return delta;
  }
}

/** A ChatML chat template (Qwen2 style) for the built-in models. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The special tokens of the built-in models, in id order. */
export const CHATML_SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/** `tokenizer_config.json` for a ChatML tokenizer trained here (loads in transformers as a fast tokenizer). */
export function chatMlTokenizerConfig(modelMaxLength: number): Json {
  return {
    add_bos_token: false,
    add_eos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(
      CHATML_SPECIAL_TOKENS.map((content, id) => [
        String(id),
        {
          content,
          lstrip: false,
          normalized: false,
          rstrip: false,
          single_word: false,
          special: true,
        },
      ]),
    ),
    additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
    bos_token: null,
    chat_template: CHATML_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    errors: 'replace',
    model_max_length: modelMaxLength,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
    unk_token: null,
  };
}
