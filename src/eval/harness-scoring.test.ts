import { afterAll, describe, expect, it } from 'vitest';
import type { CausalLM } from '../model/causal-lm.ts';
import { CHATML_SPECIAL_TOKENS, TextTokenizer } from '../model/tokenizer.ts';
import { createModel } from '../model/init.ts';
import { scoreLmEvalGenerate, scoreLmEvalLoglik } from './harness-scoring.ts';
import { encodePair, textEncoder } from './model-adapter.ts';
import { evaluate } from './run.ts';
import type {
  ChatGenerator,
  EvalItem,
  GenerateRequest,
  LoadedBenchmark,
  LoglikRequest,
  LoglikScorer,
} from './types.ts';

const source = { file: 'bench.json', line: 1 };

/** A scorer whose log-likelihood of each continuation is given. */
function fixedScorer(lls: Record<string, number>, seen: LoglikRequest[] = []): LoglikScorer {
  return {
    loglikelihood: async (requests) => {
      seen.push(...requests);
      return requests.map((r) => ({ logprob: lls[r.continuation], tokens: 1 }));
    },
  };
}

/** A generator that replies from a list, in order, and records what it was asked. */
function cannedGenerator(replies: string[], seen: GenerateRequest[]): ChatGenerator {
  return {
    generate: async (requests) => {
      seen.push(...requests);
      return requests.map(() => replies.shift() ?? '');
    },
  };
}

describe('lm-eval log-likelihood metrics', () => {
  it('acc_norm divides by characters and acc_bytes by UTF-8 bytes, so they part on non-ASCII', async () => {
    // 'ééé' is 3 characters and 6 bytes; 'abcd' is 4 of each. Per character abcd wins
    // (-1.0 > -1.1); per byte ééé wins (-0.55 > -1.0); raw, ééé wins.
    const item: EvalItem = {
      id: 'p1',
      question: 'Q?',
      options: ['ééé', 'abcd'],
      answerIndex: 1,
      context: 'Text.',
      source,
    };
    const seen: LoglikRequest[] = [];
    const [record] = await scoreLmEvalLoglik(
      [item],
      fixedScorer({ ' ééé': -3.3, ' abcd': -4.0 }, seen),
      { format: 'pubmedqa' },
    );
    expect(seen).toEqual([
      { context: 'Abstract: Text.\nQuestion: Q?\nAnswer:', continuation: ' ééé' },
      { context: 'Abstract: Text.\nQuestion: Q?\nAnswer:', continuation: ' abcd' },
    ]);
    expect([record.prediction, record.predictionNorm, record.predictionBytes]).toEqual([0, 1, 0]);
    expect([record.correct, record.correctNorm, record.correctBytes]).toEqual([false, true, false]);
  });
});

describe('lm-eval generate mode (mmlu_pro)', () => {
  const items: EvalItem[] = ['B', 'C', 'none', 'J'].map((_, i) => ({
    id: `q${i}`,
    question: `Question ${i}?`,
    options: ['w', 'x', 'y', 'z'],
    answerIndex: 1,
    category: 'health',
    source: { file: 'test.jsonl', line: i + 1 },
  }));
  const bench: LoadedBenchmark = { format: 'mmlupro', file: 'test.jsonl', items, skipped: [] };
  const replies = [
    'First, the answer is (B). On reflection the answer is (C).',
    'So the answer is C',
    'The Answer Is (B)',
    'the answer is (J)',
  ];

  it("sends the plain prompt, stops at 'Question:', and reads replies as lm-eval's filter does", async () => {
    const seen: GenerateRequest[] = [];
    const records = await scoreLmEvalGenerate(items, cannedGenerator([...replies], seen), {
      format: 'mmlupro',
    });
    expect(seen[0].messages).toEqual([]);
    expect(seen[0].prompt).toMatch(
      /about health\. Think step by step[^]*Answer: Let's think step by step\.$/,
    );
    expect(seen[0].stop).toEqual(['Question:']);
    expect(seen[0].maxTokens).toBe(2048);
    expect(records.map((r) => r.filtered)).toEqual(['B', 'C', '[invalid]', 'J']);
    expect(records.map((r) => r.correct)).toEqual([true, false, false, false]);
    // J names no option of four: no prediction, as lm-eval's exact_match scores it wrong.
    expect(records.map((r) => r.prediction)).toEqual([1, 2, null, null]);
  });

  it('summarizes as exact_match, 5-shot by default, and needs the validation split for it', async () => {
    const model = { key: 'canned', generator: cannedGenerator([...replies], []) };
    await expect(evaluate(bench, model, { harness: 'lm-eval' })).rejects.toThrow(
      /5-shot mmlupro under --harness lm-eval takes its examples from the validation split: pass it with --shots-file/,
    );
    const { summary } = await evaluate(bench, model, { harness: 'lm-eval', shots: 0 });
    expect(summary).toMatchObject({
      harness: 'lm-eval',
      mode: 'generate',
      metric: 'exact_match',
      accuracy: 0.25,
      n_unparseable: 2,
      shots: 0,
      lm_eval: { comparable: false, notes: ["lm-eval's mmlu_pro is 5-shot; this run is 0-shot"] },
    });
  });

  it('refuses the workbench options lm-eval does not have', async () => {
    const model = { key: 'canned', generator: cannedGenerator([], []) };
    await expect(
      evaluate(bench, model, { harness: 'lm-eval', shots: 0, mode: 'loglik', chat: true }),
    ).rejects.toThrow(
      /takes no mode loglik \(lm-eval's mmlupro task is generate\), chat-template scoring/,
    );
  });
});

describe('BOS under lm-eval follows the tokenizer default', () => {
  const tiny = createModel({ preset: 'tiny', seed: 1, texts: ['Question: a b c\nAnswer: yes'] });
  const base = tiny.tokenizer!;
  afterAll(() => tiny.dispose());
  const withConfig = (config: Record<string, unknown>): CausalLM =>
    ({
      tokenizer: TextTokenizer.fromJson(base.json, { ...base.config, ...config }),
      config: { maxPositions: 512 },
      stopTokenIds: () => [],
    }) as unknown as CausalLM;
  const request = { context: 'Question: a b\nAnswer:', continuation: ' yes' };

  it('adds BOS when tokenizer_config says add_bos_token (Llama, Mistral, Gemma), not for Qwen2', () => {
    const llama = withConfig({ add_bos_token: true, bos_token: CHATML_SPECIAL_TOKENS[0] });
    const bos = llama.tokenizer!.bosTokenId!;
    expect(llama.tokenizer!.addsBos).toBe(true);
    const pair = encodePair(llama, request, 'lm-eval');
    expect(pair.prompt[0]).toBe(bos);
    expect(pair.prompt.slice(1)).toEqual(base.encode(request.context, { addSpecialTokens: false }));
    expect(encodePair(llama, request, 'workbench').prompt[0]).not.toBe(bos);
    expect(textEncoder(llama, 'lm-eval')('a')[0]).toBe(bos);

    // The built-in tokenizer is Qwen2-like: add_bos_token false and no BOS token.
    const qwen = withConfig({});
    expect(qwen.tokenizer!.addsBos).toBe(false);
    expect(encodePair(qwen, request, 'lm-eval')).toEqual(encodePair(qwen, request, 'workbench'));
    const declined = withConfig({ add_bos_token: false, bos_token: CHATML_SPECIAL_TOKENS[0] });
    expect(declined.tokenizer!.addsBos).toBe(false);
  });
});
