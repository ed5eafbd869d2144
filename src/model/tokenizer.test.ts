import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextTokenizer, TokenTextStream } from './tokenizer.ts';
import { trainChatTokenizer } from './train-tokenizer.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-tok-'));
const texts = [
  'The heart pumps blood. The heart has four chambers.',
  'Blood pressure: 120/80 — normal. Ünïcödé ✓ 心脏',
];

describe('TextTokenizer.load', () => {
  it('loads what save() wrote, with the same ids and template', async () => {
    const dir = scratch();
    const tok = trainChatTokenizer(texts, { vocabSize: 320, modelMaxLength: 128 });
    await tok.save(dir);
    const back = await TextTokenizer.load(dir);
    expect(back.encode(texts[1])).toEqual(tok.encode(texts[1]));
    expect(back.hasChatTemplate).toBe(true);
    expect(back.vocabSize).toBe(tok.vocabSize);
  });

  it('decode([]) is the empty string, as in Hugging Face tokenizers', () => {
    const tok = trainChatTokenizer(texts, { vocabSize: 300, modelMaxLength: 128 });
    expect(tok.decode([])).toBe('');
    expect(tok.decode([], { skipSpecialTokens: true })).toBe('');
    expect(tok.encode('')).toEqual([]);
  });

  it('names the file for malformed JSON, a missing model, and a BPE model without merges', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": {"type": "BPE", "vocab": {}');
    await expect(TextTokenizer.load(dir)).rejects.toThrow(/tokenizer\.json: not valid JSON/);
    writeFileSync(join(dir, 'tokenizer.json'), '{"version": "1.0"}');
    await expect(TextTokenizer.load(dir)).rejects.toThrow(
      /tokenizer\.json: model: missing "model"/,
    );
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": {"type": "BPE", "vocab": {"a": 0}}}');
    await expect(TextTokenizer.load(dir)).rejects.toThrow(
      /tokenizer\.json: model\.merges: a BPE model needs a "merges" list/,
    );
  });

  it('applies a Llama-3-style post-processor BOS only when asked', () => {
    const base = trainChatTokenizer(texts, { vocabSize: 300, modelMaxLength: 128 });
    const json = {
      ...base.json,
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: '<|endoftext|>', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
        ],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: {
          '<|endoftext|>': { id: '<|endoftext|>', ids: [0], tokens: ['<|endoftext|>'] },
        },
      },
    };
    const tok = TextTokenizer.fromJson(json, base.config);
    expect(tok.encode('heart')[0]).toBe(0);
    expect(tok.encode('heart', { addSpecialTokens: false })[0]).not.toBe(0);
  });

  it('a template that uses raise_exception reports it', () => {
    const base = trainChatTokenizer(texts, { vocabSize: 300, modelMaxLength: 128 });
    const tok = TextTokenizer.fromJson(base.json, {
      ...base.config,
      chat_template:
        "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first must be user') }}{% endif %}ok",
    });
    expect(tok.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('ok');
    expect(() => tok.applyChatTemplate([{ role: 'assistant', content: 'x' }])).toThrow(
      /first must be user/,
    );
  });
});

describe('TokenTextStream', () => {
  it('emits whole characters only, and the deltas concatenate to the full text', () => {
    const tok = trainChatTokenizer(texts, { vocabSize: 300, modelMaxLength: 128 });
    const text = 'Ünïcödé ✓ 心脏 '.repeat(12) + 'end';
    const stream = new TokenTextStream(tok);
    let out = '';
    for (const id of tok.encode(text)) {
      const delta = stream.push(id);
      expect(delta).not.toContain('\uFFFD');
      out += delta;
    }
    out += stream.flush();
    expect(out).toBe(text);
  });
});
