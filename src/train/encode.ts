import { InputError } from '../core/errors.ts';
import type { ChatMessage, TextTokenizer } from '../model/tokenizer.ts';
import type { RowSource, SftExample } from './examples.ts';

/** A tokenized training row: token ids and which tokens carry loss. */
export interface EncodedRow {
  /** Token ids. */
  ids: number[];
  /** 1 where the token is a training target (predicted from the tokens before it). */
  mask: Uint8Array;
  /** The row it came from (the first one, for packed rows). */
  source: RowSource;
}

/** What to do with a row longer than the maximum length. */
export type TruncationPolicy = 'error' | 'truncate';

/** How SFT rows become token ids. */
export interface SftEncodeOptions {
  /** Train on every token of conversations, prompts included (default: assistant turns only). */
  trainOnPrompt?: boolean;
  /** Longest row in tokens. */
  maxLength: number;
  /** Too-long rows: stop with an error naming the row, or cut them (default `truncate`). */
  truncation?: TruncationPolicy;
}

/** Encoded rows and what encoding did to the data. */
export interface EncodedSet {
  /** Rows ready for batching. */
  rows: EncodedRow[];
  /** Rows cut to the maximum length. */
  truncated: number;
  /** Rows dropped because no loss token survived truncation (or none existed). */
  dropped: number;
  /** Loss tokens over all rows. */
  lossTokens: number;
}

/** Text spans of a rendered conversation, each with or without loss. */
interface Span {
  text: string;
  loss: boolean;
}

/**
 * Splits a conversation rendered by the chat template into prompt and assistant spans. The
 * assistant span of turn i is what the template renders for messages[0..i] beyond the
 * generation prompt after messages[0..i-1], with trailing whitespace left out (the end-of-turn
 * token is in; the template's line break after it is not).
 */
export function conversationSpans(tokenizer: TextTokenizer, messages: ChatMessage[]): Span[] {
  const full = tokenizer.applyChatTemplate(messages);
  const spans: Span[] = [];
  let at = 0;
  messages.forEach((message, i) => {
    if (message.role !== 'assistant') return;
    const before = tokenizer.applyChatTemplate(messages.slice(0, i), { addGenerationPrompt: true });
    const through = tokenizer.applyChatTemplate(messages.slice(0, i + 1));
    if (!through.startsWith(before) || !full.startsWith(through) || before.length < at) {
      throw new InputError(
        'the chat template does not render this conversation turn by turn, so assistant tokens cannot be located',
        { field: `messages[${i}]` },
      );
    }
    const end = before.length + through.slice(before.length).trimEnd().length;
    spans.push({ text: full.slice(at, before.length), loss: false });
    spans.push({ text: full.slice(before.length, end), loss: true });
    at = end;
  });
  spans.push({ text: full.slice(at), loss: false });
  return spans.filter((s) => s.text !== '');
}

/** Tokens and loss mask of spans, each span tokenized on its own so its tokens stay its own. */
export function encodeSpans(
  tokenizer: TextTokenizer,
  spans: Span[],
): { ids: number[]; mask: number[] } {
  const ids: number[] = [];
  const mask: number[] = [];
  for (const span of spans) {
    const piece = tokenizer.encode(span.text, { addSpecialTokens: false });
    ids.push(...piece);
    for (let i = 0; i < piece.length; i++) mask.push(span.loss ? 1 : 0);
  }
  return { ids, mask };
}

/** Token ids and loss mask of one SFT example, before truncation. */
export function encodeSftExample(
  tokenizer: TextTokenizer,
  example: SftExample,
  trainOnPrompt = false,
): { ids: number[]; mask: number[] } {
  if (example.kind === 'text') {
    const ids = tokenizer.encode(example.text);
    // TRL appends the EOS token to language-modelling rows, so documents end visibly.
    const eos = tokenizer.eosTokenId;
    if (eos !== undefined && ids[ids.length - 1] !== eos) ids.push(eos);
    return { ids, mask: ids.map(() => 1) };
  }
  const { ids, mask } = encodeSpans(tokenizer, conversationSpans(tokenizer, example.messages));
  return { ids, mask: trainOnPrompt ? ids.map(() => 1) : mask };
}

/** Loss tokens of a mask: the first token is never a target (nothing precedes it). */
export function lossCount(mask: ArrayLike<number>): number {
  let n = 0;
  for (let i = 1; i < mask.length; i++) n += mask[i];
  return n;
}

function locate(error: unknown, source: RowSource): never {
  if (error instanceof InputError && error.file === undefined)
    throw new InputError(error.reason, {
      file: source.file,
      line: source.line,
      field: error.field,
    });
  throw error;
}

/** Encodes SFT examples, applying the truncation policy and counting what it did. */
export function encodeSft(
  tokenizer: TextTokenizer,
  examples: readonly SftExample[],
  options: SftEncodeOptions,
): EncodedSet {
  const policy = options.truncation ?? 'truncate';
  const rows: EncodedRow[] = [];
  let truncated = 0;
  let dropped = 0;
  let lossTokens = 0;
  for (const example of examples) {
    let encoded: { ids: number[]; mask: number[] };
    try {
      encoded = encodeSftExample(tokenizer, example, options.trainOnPrompt);
    } catch (error) {
      locate(error, example.source);
    }
    let { ids, mask } = encoded;
    if (ids.length > options.maxLength) {
      if (policy === 'error') {
        throw new InputError(
          `the row has ${ids.length} tokens, more than the maximum length ${options.maxLength} (raise --max-length or use truncation)`,
          { file: example.source.file, line: example.source.line },
        );
      }
      ids = ids.slice(0, options.maxLength);
      mask = mask.slice(0, options.maxLength);
      truncated++;
    }
    const count = lossCount(mask);
    if (count === 0) {
      dropped++;
      continue;
    }
    lossTokens += count;
    rows.push({ ids, mask: Uint8Array.from(mask), source: example.source });
  }
  return { rows, truncated, dropped, lossTokens };
}

/**
 * Packs rows into rows of exactly `length` tokens (the last may be shorter) by concatenating
 * them in order and cutting, as TRL's classic packing: attention may cross example boundaries
 * within a row, and an example may continue in the next row. Masks travel with their tokens.
 */
export function packRows(rows: readonly EncodedRow[], length: number): EncodedRow[] {
  const packed: EncodedRow[] = [];
  let ids: number[] = [];
  let mask: number[] = [];
  let source: RowSource | undefined;
  const flush = (): void => {
    if (ids.length > 1 && lossCount(mask) > 0)
      packed.push({ ids, mask: Uint8Array.from(mask), source: source! });
    ids = [];
    mask = [];
    source = undefined;
  };
  for (const row of rows) {
    for (let i = 0; i < row.ids.length; i++) {
      source ??= row.source;
      ids.push(row.ids[i]);
      mask.push(row.mask[i]);
      if (ids.length === length) flush();
    }
  }
  flush();
  return packed;
}
