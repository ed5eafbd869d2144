import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.ts';
import { trainChatTokenizer } from '../model/train-tokenizer.ts';
import { collate, IGNORE } from './batches.ts';
import { encodeDpo } from './dpo-encode.ts';
import { encodeSft, encodeSftExample, lossCount, packRows } from './encode.ts';
import { dpoExamples, readDpoFile, readSftFile, sftExamples } from './examples.ts';

const tokenizer = trainChatTokenizer(
  [
    'Fever is a raised body temperature. Rest and fluids help.',
    'What helps a cough? Honey and warm drinks soothe a cough.',
    'You are a careful medical assistant.',
  ],
  { vocabSize: 400, modelMaxLength: 512 },
);
const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-train-'));
const conversation = {
  messages: [
    { role: 'system', content: 'You are a careful medical assistant.' },
    { role: 'user', content: 'What helps a cough?' },
    { role: 'assistant', content: 'Honey and warm drinks.' },
    { role: 'user', content: 'And fever?' },
    { role: 'assistant', content: 'Rest and fluids help.' },
  ],
};

describe('encodeSftExample(tokenizer, example)', () => {
  const [example] = sftExamples([conversation]).rows;

  it('masks exactly the assistant tokens (content and end-of-turn), token by token', () => {
    const { ids, mask } = encodeSftExample(tokenizer, example);
    // The pieces tokenize as the whole rendered text does.
    expect(ids).toEqual(tokenizer.encodeChat(conversation.messages));
    const runs: string[] = [];
    let current: number[] = [];
    ids.forEach((id, i) => {
      if (mask[i]) current.push(id);
      if ((!mask[i] || i === ids.length - 1) && current.length > 0) {
        runs.push(tokenizer.decode(current));
        current = [];
      }
    });
    expect(runs).toEqual(['Honey and warm drinks.<|im_end|>', 'Rest and fluids help.<|im_end|>']);
    // Every unmasked token is template or another role's text.
    const unmasked = tokenizer.decode(ids.filter((_, i) => !mask[i]));
    expect(unmasked).toBe(
      '<|im_start|>system\nYou are a careful medical assistant.<|im_end|>\n<|im_start|>user\nWhat helps a cough?<|im_end|>\n<|im_start|>assistant\n\n<|im_start|>user\nAnd fever?<|im_end|>\n<|im_start|>assistant\n\n',
    );
  });

  it('trains on every token when asked, and on text rows ending with EOS', () => {
    const all = encodeSftExample(tokenizer, example, true);
    expect(all.mask.every((m) => m === 1)).toBe(true);
    const [text] = sftExamples([{ text: 'Fever is a raised body temperature.' }]).rows;
    const encoded = encodeSftExample(tokenizer, text);
    expect(encoded.ids.at(-1)).toBe(tokenizer.eosTokenId);
    expect(lossCount(encoded.mask)).toBe(encoded.ids.length - 1);
  });
});

describe('encodeSft(tokenizer, examples, {maxLength, truncation})', () => {
  const rows = sftExamples([conversation, { text: 'Rest.' }]).rows;

  it('cuts long rows and counts them, or stops at the first naming file and line', () => {
    const full = encodeSftExample(tokenizer, rows[0]).ids.length;
    const cut = encodeSft(tokenizer, rows, { maxLength: full - 3 });
    expect(cut.truncated).toBe(1);
    expect(cut.rows[0].ids.length).toBe(full - 3);
    expect(() => encodeSft(tokenizer, rows, { maxLength: full - 3, truncation: 'error' })).toThrow(
      `<memory>:1: the row has ${full} tokens, more than the maximum length ${full - 3}`,
    );
  });

  it('drops rows whose loss tokens are all cut away', () => {
    const cut = encodeSft(tokenizer, rows.slice(0, 1), { maxLength: 20 });
    expect(cut).toMatchObject({ rows: [], truncated: 1, dropped: 1, lossTokens: 0 });
  });

  it('packs rows into fixed-length rows, masks travelling with their tokens', () => {
    const encoded = encodeSft(tokenizer, [...rows, ...rows], { maxLength: 256 });
    const packed = packRows(encoded.rows, 16);
    const ids = encoded.rows.flatMap((r) => r.ids);
    const mask = encoded.rows.flatMap((r) => Array.from(r.mask));
    // Consecutive 16-token windows of the stream; windows without a loss token teach nothing.
    const windows = [];
    for (let at = 0; at < ids.length; at += 16)
      windows.push({ ids: ids.slice(at, at + 16), mask: mask.slice(at, at + 16) });
    const useful = windows.filter((w) => lossCount(w.mask) > 0);
    expect(useful.length).toBeLessThan(windows.length);
    expect(packed.map((r) => ({ ids: r.ids, mask: Array.from(r.mask) }))).toEqual(useful);
  });
});

describe('collate(rows, padId)', () => {
  it('shifts targets, keeps only masked ones, and pads on the right', () => {
    const rows = [
      { ids: [5, 6, 7, 8], mask: Uint8Array.from([0, 0, 1, 1]), source: { file: 'f', line: 1 } },
      { ids: [9, 10], mask: Uint8Array.from([0, 1]), source: { file: 'f', line: 2 } },
    ];
    const batch = collate(rows, 0);
    expect(batch.inputIds.dims).toEqual([2, 3]);
    expect(Array.from(batch.inputIds.data as BigInt64Array, Number)).toEqual([5, 6, 7, 9, 0, 0]);
    expect(Array.from(batch.targets.data as BigInt64Array, Number)).toEqual([
      IGNORE,
      7,
      8,
      10,
      IGNORE,
      IGNORE,
    ]);
    expect(batch.targetCounts).toEqual([2, 1]);
    expect(batch.tokens).toBe(4);
  });
});

describe('readSftFile / readDpoFile', () => {
  it('names file and line of a malformed row, or skips and counts it', async () => {
    const file = join(scratch(), 'sft.jsonl');
    writeFileSync(
      file,
      [JSON.stringify(conversation), '{"messages": [{"role": "user"}]}', 'not json', ''].join('\n'),
    );
    await expect(readSftFile(file)).rejects.toThrow(
      `${file}:2: messages[0].content: expected string content`,
    );
    const loaded = await readSftFile(file, { skipBadRows: true });
    expect(loaded.rows).toHaveLength(1);
    expect(loaded.skipped.map((s) => s.source.line)).toEqual([2, 3]);
  });

  it('refuses an empty dataset, and one with no usable row', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'empty.jsonl'), '\n\n');
    await expect(readSftFile(join(dir, 'empty.jsonl'))).rejects.toThrow('the dataset is empty');
    writeFileSync(join(dir, 'bad.jsonl'), '{"prompt": "a"}\n');
    const error = await readDpoFile(join(dir, 'bad.jsonl'), { skipBadRows: true }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain('no usable rows (all 1 rows were malformed)');
  });
});

describe('encodeDpo(tokenizer, examples, options)', () => {
  it('renders string rows as a chat turn with the completion ending at end-of-turn', () => {
    const pairs = dpoExamples([
      { prompt: 'What helps a cough?', chosen: 'Honey.', rejected: 'Nothing.' },
    ]).rows;
    const [pair] = encodeDpo(tokenizer, pairs, { maxLength: 128 }).pairs;
    expect(tokenizer.decode(pair.prompt)).toBe(
      '<|im_start|>user\nWhat helps a cough?<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(tokenizer.decode(pair.chosen)).toBe('Honey.<|im_end|>');
    expect(tokenizer.decode(pair.rejected)).toBe('Nothing.<|im_end|>');
    const listed = dpoExamples([
      {
        prompt: [{ role: 'user', content: 'What helps a cough?' }],
        chosen: [{ role: 'assistant', content: 'Honey.' }],
        rejected: [{ role: 'assistant', content: 'Nothing.' }],
      },
    ]).rows;
    expect(encodeDpo(tokenizer, listed, { maxLength: 128, chat: false }).pairs[0]).toEqual({
      ...pair,
      source: listed[0].source,
    });
    const raw = encodeDpo(tokenizer, pairs, { maxLength: 128, chat: false }).pairs[0];
    expect(tokenizer.decode(raw.prompt)).toBe('What helps a cough?');
    expect(tokenizer.decode(raw.chosen)).toBe('Honey.<|im_end|>');
  });

  it('cuts completions to the maximum length, drops prompts that fill it, or stops with file and line', () => {
    const pairs = dpoExamples([
      { prompt: 'Cough?', chosen: 'Honey and warm drinks soothe a cough.', rejected: 'No.' },
      { prompt: 'What helps a cough? '.repeat(20), chosen: 'Honey.', rejected: 'No.' },
    ]).rows;
    const promptLength = encodeDpo(tokenizer, pairs.slice(0, 1), { maxLength: 512 }).pairs[0].prompt
      .length;
    const maxLength = promptLength + 3;
    const encoded = encodeDpo(tokenizer, pairs, { maxLength });
    expect(encoded).toMatchObject({ truncated: 1, dropped: 1 });
    expect(encoded.pairs[0].prompt.length + encoded.pairs[0].chosen.length).toBe(maxLength);
    expect(() => encodeDpo(tokenizer, pairs, { maxLength, truncation: 'error' })).toThrow(
      /^<memory>:1: the pair has \d+ tokens/,
    );
  });
});
