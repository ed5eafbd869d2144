import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CausalLM } from '../model/causal-lm.ts';
import { createModel } from '../model/init.ts';
import { loadBenchmark } from './loaders/load.ts';
import {
  cutAtStop,
  encodePair,
  loadEvalModel,
  modelGenerator,
  modelKey,
  modelScorer,
} from './model-adapter.ts';
import { evaluate } from './run.ts';

const fixture = (name: string): string =>
  join(fileURLToPath(import.meta.url), '..', 'fixtures', name);

const corpus = [
  'Question: Which vitamin deficiency causes scurvy?\nA. Vitamin A\nB. Vitamin C\nAnswer: B',
  'The answer is (C). Iron deficiency gives a low MCV and low ferritin.',
  'Abstract: We randomised adults to daily walking.\nQuestion: Does walking help?\nAnswer: yes',
  // Enough " A".." D" for the tokenizer to make each a single token, as real tokenizers do.
  ...Array<string>(3).fill('Answer: A. Answer: B. Answer: C. Answer: D.'),
];

function logSoftmaxAt(logits: Float32Array, offset: number, vocab: number, token: number): number {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) max = Math.max(max, logits[offset + v]);
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[offset + v] - max);
  return logits[offset + token] - max - Math.log(sum);
}

describe('model adapters on a tiny random model', () => {
  let model: CausalLM;
  let dir: string;

  beforeAll(async () => {
    model = createModel({ preset: 'tiny', seed: 3, texts: corpus });
    dir = mkdtempSync(join(tmpdir(), 'finemed-eval-model-'));
    await model.save(dir);
  });
  afterAll(async () => {
    await model.dispose();
  });

  it('encodePair(model, request) moves trailing spaces into the continuation, as the harness', () => {
    const pair = encodePair(model, { context: 'Question: Which?\nAnswer:', continuation: ' B' });
    expect(model.tokenizer?.decode(pair.completion)).toBe(' B');
    expect(model.tokenizer?.decode(pair.prompt)).toBe('Question: Which?\nAnswer:');
    const spaced = encodePair(model, { context: 'Answer: ', continuation: 'B' });
    expect(model.tokenizer?.decode(spaced.completion)).toBe(' B');
  });

  it('modelScorer(model) sums the continuation log-probabilities the logits give', async () => {
    const request = { context: 'Question: Which vitamin?\nAnswer:', continuation: ' Vitamin C' };
    const [scored] = await modelScorer(model).loglikelihood([request]);
    const { prompt, completion } = encodePair(model, request);
    const ids = [...prompt, ...completion];
    const { data, dims } = await model.logits([ids]);
    const vocab = dims[2];
    let expected = 0;
    completion.forEach((token, i) => {
      expected += logSoftmaxAt(data, (prompt.length - 1 + i) * vocab, vocab, token);
    });
    expect(scored.tokens).toBe(completion.length);
    expect(scored.logprob).toBeCloseTo(expected, 4);
  });

  it('modelScorer(model) reads one-token options off one shared forward, as sequenceLogprobs would', async () => {
    const context =
      'Question: Which vitamin deficiency causes scurvy?\nA. A\nB. C\nC. D\nD. K\nAnswer:';
    const requests = ['A', 'B', 'C', 'D'].map((l) => ({ context, continuation: ` ${l}` }));
    const pairs = requests.map((r) => encodePair(model, r));
    expect(pairs.every((p) => p.completion.length === 1)).toBe(true);
    const fast = await modelScorer(model).loglikelihood(requests);
    const direct = await model.sequenceLogprobs(pairs);
    fast.forEach((result, i) => {
      expect(result.logprob).toBeCloseTo(direct[i].sum, 4);
      expect([result.tokens, result.isGreedy]).toEqual([1, direct[i].greedy]);
    });
  });

  it('truncates contexts longer than the model from the left', async () => {
    const long = 'Abstract: ' + 'walking lowers blood pressure. '.repeat(200) + '\nAnswer:';
    const pair = encodePair(model, { context: long, continuation: ' yes' });
    expect(pair.prompt.length + pair.completion.length).toBe(model.config.maxPositions + 1);
    const [scored] = await modelScorer(model).loglikelihood([
      { context: long, continuation: ' yes' },
    ]);
    expect(Number.isFinite(scored.logprob)).toBe(true);
  });

  it('modelGenerator(model) replies as greedy decoding of the chat-rendered prompt', async () => {
    const messages = [
      { role: 'user' as const, content: 'Which vitamin deficiency causes scurvy?' },
    ];
    const [reply] = await modelGenerator(model).generate([{ messages, maxTokens: 8 }]);
    const ids = model.tokenizer?.encodeChat(messages, { addGenerationPrompt: true }) ?? [];
    const tokens: number[] = [];
    for await (const token of model.generate(ids, { maxTokens: 8 })) tokens.push(token);
    expect(reply).toBe(model.tokenizer?.decode(tokens, { skipSpecialTokens: true }));
  });

  it('cutAtStop(text, stops) ends the reply at the first stop string', () => {
    expect(cutAtStop('The answer is (B).\nQuestion: next', ['\nQuestion:', '###'])).toBe(
      'The answer is (B).',
    );
    expect(cutAtStop('no stop here', ['###'])).toBe('no stop here');
  });

  it('loadEvalModel(dir) evaluates in both modes, reproducibly', async () => {
    const evalModel = await loadEvalModel(dir);
    try {
      expect(evalModel.key).toBe(await modelKey(dir));
      expect(evalModel.key).toMatch(/^model:[0-9a-f]{32}$/);
      const bench = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
      const first = await evaluate(bench, evalModel, { seed: 1 });
      const again = await evaluate(bench, evalModel, { seed: 1 });
      expect(first.summary.n_scored).toBe(3);
      expect(again.records.map((r) => r.scores)).toEqual(first.records.map((r) => r.scores));
      expect(first.records[1].scores).toHaveLength(5);
      const generated = await evaluate(bench, evalModel, { mode: 'generate', maxTokens: 6 });
      expect(generated.summary.n_scored).toBe(3);
      expect(generated.summary.n_unparseable).toBe(
        generated.records.filter((r) => r.prediction === null).length,
      );
    } finally {
      await evalModel.dispose();
    }
  });
});
