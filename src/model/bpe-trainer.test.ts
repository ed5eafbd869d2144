import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataDir } from '../core/shared-data.ts';
import {
  BYTE_TO_CHAR,
  bpeTokenizerJson,
  countWords,
  preTokenize,
  trainByteLevelBpe,
} from './bpe-trainer.ts';
import { CHATML_SPECIAL_TOKENS, TextTokenizer } from './tokenizer.ts';
import { trainChatTokenizer } from './train-tokenizer.ts';

const repeat = (word: string, n: number): string[] => Array<string>(n).fill(word);

/** A few sentences of our own, with accents, CJK, emoji, digits, newlines and code-like text. */
const ownText = [
  'Hypertension raises the risk of stroke; treatment lowers it.\nAsk your doctor about it!',
  'Café au lait spots (≥6) suggest neurofibromatosis type 1 — see a specialist.',
  '糖尿病 is diabetes; 高血压 is hypertension. Emoji: 🩺💊 and tabs\tand  double  spaces.',
  "Don't stop taking insulin. It's 12.5 mg/dL, not 125 mg/dL; we'll re-check at 08:30.",
  '  leading spaces, trailing spaces   \n\n\r\nCRLF lines and a final newline\n',
];

describe('countWords', () => {
  it('splits like Qwen2: contractions, single digits, leading spaces on words', () => {
    expect(preTokenize("We'll see 2024 cases")).toEqual([
      'We',
      "'ll",
      ' see',
      ' ',
      '2',
      '0',
      '2',
      '4',
      ' cases',
    ]);
    expect(countWords(['2024']).get('2')).toBe(2);
  });

  it('agrees with the saved tokenizer: encoding a text = encoding its words one by one', () => {
    const tok = trainChatTokenizer(ownText, { vocabSize: 400, modelMaxLength: 256 });
    for (const text of ownText) {
      expect(tok.encode(text)).toEqual(preTokenize(text).flatMap((w) => tok.encode(w)));
    }
  });
});

describe('trainByteLevelBpe', () => {
  it('merges the most frequent pair first, ties to the smaller ids (Sennrich et al. example)', () => {
    const texts = [
      ...repeat('low', 5),
      ...repeat('lower', 2),
      ...repeat('newest', 6),
      ...repeat('widest', 3),
    ];
    const bpe = trainByteLevelBpe(texts, { vocabSize: 256 + 5, specialTokens: [] });
    expect(bpe.merges).toEqual([
      ['e', 's'],
      ['es', 't'],
      ['l', 'o'],
      ['lo', 'w'],
      ['e', 'w'],
    ]);
    expect(bpe.vocab.slice(256)).toEqual(['es', 'est', 'lo', 'low', 'ew']);
  });

  it('stops at minFrequency and is deterministic', () => {
    const a = trainByteLevelBpe(ownText, { vocabSize: 2000, specialTokens: ['<s>'] });
    const b = trainByteLevelBpe(ownText, { vocabSize: 2000, specialTokens: ['<s>'] });
    expect(a).toEqual(b);
    expect(a.vocab.length).toBeLessThan(2000);
    expect(a.vocab[0]).toBe('<s>');
    expect(a.vocab.slice(1, 257)).toEqual(BYTE_TO_CHAR);
  });
});

describe('trainChatTokenizer', () => {
  const corpusDir = sharedDataDir();
  const medline = corpusDir
    ? readFileSync(join(corpusDir, 'corpus', 'medlineplus_topics.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => (JSON.parse(l) as { answer: string }).answer)
    : [];

  it('round-trips our own text exactly, and keeps special tokens whole', () => {
    const tok = trainChatTokenizer(ownText, { vocabSize: 400, modelMaxLength: 256 });
    for (const text of ownText) {
      const ids = tok.encode(text);
      expect(tok.decode(ids)).toBe(text);
    }
    expect(tok.encode('<|im_start|>user\nhi<|im_end|>').slice(0, 1)).toEqual([1]);
    expect(tok.encode('x<|im_end|>').at(-1)).toBe(2);
    expect(tok.eosTokenId).toBe(2);
    expect(tok.padTokenId).toBe(0);
  });

  it('renders the ChatML template with a generation prompt', () => {
    const tok = trainChatTokenizer(ownText, { vocabSize: 300, modelMaxLength: 256 });
    const text = tok.applyChatTemplate(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is BP?' },
      ],
      { addGenerationPrompt: true },
    );
    expect(text).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is BP?<|im_end|>\n<|im_start|>assistant\n',
    );
    const ids = tok.encodeChat([{ role: 'user', content: 'hi' }]);
    expect(ids[0]).toBe(1);
    expect(ids.filter((id) => id === 2)).toHaveLength(1);
  });

  it.skipIf(!corpusDir)(
    'on MedlinePlus summaries: exact round trip and real compression (needs shared data)',
    () => {
      const train = medline.slice(0, 800);
      const held = medline.slice(800);
      const tok = trainChatTokenizer(train, { vocabSize: 4096, modelMaxLength: 512 });
      expect(tok.vocabSize).toBe(4096);
      let chars = 0;
      let tokens = 0;
      for (const text of held) {
        const ids = tok.encode(text);
        expect(tok.decode(ids)).toBe(text.normalize('NFC'));
        chars += text.length;
        tokens += ids.length;
      }
      // Bytes per token on unseen medical text: 1 without merges; a 4k vocab gets well above 3.
      expect(chars / tokens).toBeGreaterThan(3.5);
      expect(tok.encode(' diabetes')).toHaveLength(1);
    },
  );

  it('writes a tokenizer.json in the layout Hugging Face tokenizers reads', () => {
    const bpe = trainByteLevelBpe(ownText, { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    const json = bpeTokenizerJson(bpe) as {
      model: { vocab: Record<string, number>; merges: string[] };
    };
    expect(Object.keys(json).sort()).toEqual([
      'added_tokens',
      'decoder',
      'model',
      'normalizer',
      'padding',
      'post_processor',
      'pre_tokenizer',
      'truncation',
      'version',
    ]);
    // Every merge joins two known tokens into a known token, each side a single space-free symbol string.
    for (const merge of json.model.merges) {
      const parts = merge.split(' ');
      expect(parts).toHaveLength(2);
      expect(json.model.vocab[parts[0]]).toBeDefined();
      expect(json.model.vocab[parts[1]]).toBeDefined();
      expect(json.model.vocab[parts[0] + parts[1]]).toBeDefined();
    }
    const reloaded = TextTokenizer.fromJson(JSON.parse(JSON.stringify(json)), {});
    expect(reloaded.decode(reloaded.encode(ownText[3]))).toBe(ownText[3]);
  });
});

describe('Hugging Face tokenizers cross-check (fixture from scripts/fixtures/model_tokenizer_hf.ts)', () => {
  const dir = join(import.meta.dirname, 'fixtures', 'hf_tokenizer');
  const read = (file: string): unknown => JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const { training, probes } = read('texts.json') as { training: string[]; probes: string[] };
  const expected = read('expected.json') as {
    vocab_size: number;
    encodings: { ids: number[]; decoded: string }[];
  };

  it('bpeTokenizerJson(trainByteLevelBpe(texts)) is still the file Hugging Face loaded', () => {
    const json = bpeTokenizerJson(
      trainByteLevelBpe(training, { vocabSize: 400, specialTokens: [...CHATML_SPECIAL_TOKENS] }),
    );
    expect(json).toEqual(read('tokenizer.json'));
  });

  it('encode/decode give the ids and text Hugging Face tokenizers gave for that file', () => {
    const tok = TextTokenizer.fromJson(read('tokenizer.json') as Record<string, unknown>);
    expect(tok.vocabSize).toBe(expected.vocab_size);
    probes.forEach((text, i) => {
      const ids = tok.encode(text, { addSpecialTokens: false });
      expect(ids).toEqual(expected.encodings[i].ids);
      expect(tok.decode(ids)).toBe(expected.encodings[i].decoded);
    });
  });
});
