import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../core/errors.ts';
import { loadModel, type CausalLM } from './causal-lm.ts';
import { createModel } from './init.ts';
import { floatToBf16 } from './safetensors.ts';

const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');
const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-lm-'));
const corpus = [
  'The heart pumps blood through the arteries and veins.',
  'Asthma narrows the airways; inhalers open them again.',
  'Diabetes raises blood sugar. Insulin lowers blood sugar.',
];

/** Reads a safetensors file with nothing but the format description: u64 header length, JSON header, raw data. */
function independentRead(
  path: string,
): Map<string, { dtype: string; shape: number[]; bytes: Buffer }> {
  const file = readFileSync(path);
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out = new Map<string, { dtype: string; shape: number[]; bytes: Buffer }>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets;
    out.set(name, {
      dtype: info.dtype,
      shape: info.shape,
      bytes: file.subarray(8 + n + begin, 8 + n + end),
    });
  }
  return out;
}

describe('CausalLM.save / loadModel', () => {
  const model = createModel({ preset: 'tiny', seed: 3, texts: corpus });
  afterAll(() => model.dispose());

  it('round-trips F32 weights bit for bit, in a folder an independent reader accepts', async () => {
    const dir = scratch();
    await model.save(dir);
    const tensors = independentRead(join(dir, 'model.safetensors'));
    expect(tensors.size).toBe(model.params.entries.length);
    for (const entry of model.params.entries) {
      const t = tensors.get(entry.name)!;
      expect(t.dtype).toBe('F32');
      expect(t.shape).toEqual(entry.shape);
      expect(
        Buffer.compare(t.bytes, Buffer.from(model.params.view(entry.name).slice().buffer)),
      ).toBe(0);
    }
    expect(tensors.has('model.layers.3.self_attn.k_proj.bias')).toBe(true);
    expect(tensors.has('lm_head.weight')).toBe(false);
    const back = await loadModel(dir);
    expect(
      Buffer.compare(Buffer.from(back.params.data.buffer), Buffer.from(model.params.data.buffer)),
    ).toBe(0);
    expect(back.config).toEqual(model.config);
    expect(back.tokenizer!.encode(corpus[1])).toEqual(model.tokenizer!.encode(corpus[1]));
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'qwen2',
      architectures: ['Qwen2ForCausalLM'],
      tie_word_embeddings: true,
    });
    await back.dispose();
  });

  it('saves BF16 rounded to nearest even', async () => {
    const dir = scratch();
    await model.save(dir, { dtype: 'BF16' });
    const t = independentRead(join(dir, 'model.safetensors')).get('model.embed_tokens.weight')!;
    expect(t.dtype).toBe('BF16');
    const expected = floatToBf16(model.params.view('model.embed_tokens.weight'));
    expect(Buffer.compare(t.bytes, Buffer.from(expected.buffer))).toBe(0);
  });
});

describe('generation', () => {
  let model: CausalLM;
  beforeAll(async () => {
    model = await loadModel(join(fixtures, 'qwen2_gqa_untied'), { session: { threads: 1 } });
  });
  afterAll(() => model.dispose());

  const collect = async (gen: AsyncGenerator<number, unknown>): Promise<number[]> => {
    const out: number[] = [];
    for await (const t of gen) out.push(t);
    return out;
  };

  it('greedy with the KV cache equals greedy without it, token for token', async () => {
    for (const prompt of [[5], [3, 17, 42, 8, 1, 30]]) {
      const cached = await collect(model.generate(prompt, { maxTokens: 24, stopTokenIds: [] }));
      const plain = await collect(
        model.generate(prompt, { maxTokens: 24, stopTokenIds: [], useCache: false }),
      );
      expect(cached).toHaveLength(24);
      expect(cached).toEqual(plain);
    }
  });

  it('batched generation (left padding) equals one-by-one generation', async () => {
    const prompts = [[7, 8, 9, 10, 11, 12, 13], [4], [20, 21, 22]];
    const batch = await model.generateBatch(prompts, { maxTokens: 12, stopTokenIds: [] });
    for (let r = 0; r < prompts.length; r++) {
      expect(batch[r].tokens).toEqual(
        await collect(model.generate(prompts[r], { maxTokens: 12, stopTokenIds: [] })),
      );
      expect(batch[r].finishReason).toBe('length');
    }
  });

  it('stops at a stop token without returning it, and reports why', async () => {
    const free = await collect(model.generate([1, 2, 3], { maxTokens: 10, stopTokenIds: [] }));
    const gen = model.generate([1, 2, 3], { maxTokens: 10, stopTokenIds: [free[3]] });
    const tokens: number[] = [];
    let step = await gen.next();
    for (; !step.done; step = await gen.next()) tokens.push(step.value);
    expect(tokens).toEqual(free.slice(0, free.indexOf(free[3])));
    expect(step.value).toEqual({
      finishReason: 'stop',
      promptTokens: 3,
      completionTokens: tokens.length,
    });
  });

  it('honours an abort signal', async () => {
    const controller = new AbortController();
    const gen = model.generate([1, 2], {
      maxTokens: 50,
      signal: controller.signal,
      stopTokenIds: [],
    });
    await gen.next();
    controller.abort(new CancelledError('stop now'));
    await expect(gen.next()).rejects.toThrow('stop now');
  });

  it('sequenceLogprobs equals log-softmax of logits(), and flags greedy continuations', async () => {
    const prompt = [3, 9, 27];
    const greedy = await collect(model.generate(prompt, { maxTokens: 3, stopTokenIds: [] }));
    const other = [(greedy[0] + 1) % 48, 5];
    const [a, b, c] = await model.sequenceLogprobs([
      { prompt, completion: greedy },
      { prompt, completion: other },
      { prompt: [11], completion: [12, 13, 14, 15, 16, 17] },
    ]);
    const { data } = await model.logits([[...prompt, ...other]]);
    const V = model.config.vocabSize;
    const logSoftmax = (pos: number, id: number): number => {
      const row = data.subarray(pos * V, (pos + 1) * V);
      const max = Math.max(...row);
      return row[id] - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    };
    expect(b.tokens[0]).toBeCloseTo(logSoftmax(2, other[0]), 4);
    expect(b.tokens[1]).toBeCloseTo(logSoftmax(3, other[1]), 4);
    expect(b.sum).toBeCloseTo(b.tokens[0] + b.tokens[1], 5);
    expect([a.greedy, b.greedy, a.count, c.count]).toEqual([true, false, 3, 6]);
  });

  it('rejects a prompt longer than the context, naming it', async () => {
    const long = Array.from({ length: 70 }, (_, i) => i % 40);
    await expect(model.generate(long).next()).rejects.toThrow(
      /prompt: prompt has 70 tokens.*context of 64 \(max_position_embeddings\)/,
    );
    await expect(model.sequenceLogprobs([{ prompt: long, completion: [1] }])).rejects.toThrow(
      /items\[0\]: .*context is 64/,
    );
  });
});

describe('loadModel rejects bad folders naming file and field', () => {
  const copy = (): string => {
    const dir = scratch();
    cpSync(join(fixtures, 'llama_gqa_bias'), dir, { recursive: true });
    return dir;
  };

  it('unknown model_type', async () => {
    const dir = copy();
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'gpt_neox' }));
    await expect(loadModel(dir)).rejects.toThrow(
      /config\.json: model_type: unsupported model_type "gpt_neox"/,
    );
  });

  it('truncated safetensors', async () => {
    const dir = copy();
    truncateSync(join(dir, 'model.safetensors'), 5000);
    await expect(loadModel(dir)).rejects.toThrow(/model\.safetensors: .*truncated/);
  });

  it('a missing tensor and a shape that disagrees with the config', async () => {
    const dir = copy();
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, intermediate_size: 40 }));
    await expect(loadModel(dir)).rejects.toThrow(
      /model\.safetensors: model\.layers\.0\.mlp\.gate_proj\.weight: shape \[48,32\] does not match the config's \[40,32\]/,
    );
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 3 }));
    await expect(loadModel(dir)).rejects.toThrow(
      /model\.layers\.2\.input_layernorm\.weight: missing tensor/,
    );
  });

  it('malformed tokenizer.json', async () => {
    const dir = copy();
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
    await expect(loadModel(dir)).rejects.toThrow(/tokenizer\.json: not valid JSON/);
    rmSync(join(dir, 'tokenizer.json'));
    expect((await loadModel(dir)).tokenizer).toBeUndefined();
  });
});
