import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Graph, Session } from '../engine/index.ts';
import { loadModel, type CausalLM } from './causal-lm.ts';
import { buildDecoder } from './decoder.ts';
import { floatData, int64Matrix } from './feeds.ts';
import { runForward } from './forward.ts';

const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');

/** Expected logits written by scripts/fixtures/model_parity.py (an independent PyTorch implementation, float64). */
interface Expected {
  ids: number[][];
  logits: number[][][];
  padded_ids: number[][];
  padded_mask: number[][];
  padded_logits: number[][][];
}

/** Hugging Face's positions for a left-padded batch: the running count of real tokens, minus one. */
function positionsOf(mask: number[][]): number[][] {
  return mask.map((row) => {
    let seen = 0;
    return row.map((m) => Math.max(0, (seen += m) - 1));
  });
}

const cases = ['llama_gqa_bias', 'llama3_scaled_tied', 'qwen2_mqa_tied', 'qwen2_gqa_untied'];

/** Largest absolute difference over the positions `keep(b, t)` selects. */
function maxDiff(
  got: Float32Array,
  expected: number[][][],
  keep: (b: number, t: number) => boolean,
): number {
  let worst = 0;
  const [, T, V] = [expected.length, expected[0].length, expected[0][0].length];
  expected.forEach((rows, b) =>
    rows.forEach((row, t) => {
      if (!keep(b, t)) return;
      for (let v = 0; v < V; v++)
        worst = Math.max(worst, Math.abs(got[(b * T + t) * V + v] - row[v]));
    }),
  );
  return worst;
}

describe.each(cases)('logits parity with PyTorch: %s', (name) => {
  const dir = join(fixtures, name);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  let model: CausalLM;
  afterAll(() => model?.dispose());

  it('matches the reference on a full batch within 1e-4', async () => {
    model = await loadModel(dir, { session: { threads: 1 } });
    const { data, dims } = await model.logits(expected.ids);
    expect(dims).toEqual([2, 9, model.config.vocabSize]);
    expect(maxDiff(data, expected.logits, () => true)).toBeLessThan(1e-4);
  });

  it('the fast inference path (fused projections, prepacked weights) matches as well', async () => {
    const fast = await loadModel(dir, { session: { threads: 1 }, inference: { fast: true } });
    expect((await fast.compiled()).fast).toBe(true);
    const { data } = await fast.logits(expected.ids);
    await fast.dispose();
    expect(maxDiff(data, expected.logits, () => true)).toBeLessThan(1e-4);
  });

  it('matches on a left-padded batch with attention mask and positions', async () => {
    const ids = expected.padded_ids;
    const out = await runForward(
      model,
      {
        ids,
        mask: expected.padded_mask,
        positions: positionsOf(expected.padded_mask),
        headRows: Array.from({ length: ids.length * ids[0].length }, (_, i) => i),
      },
      ['logits'],
    );
    const real = (b: number, t: number): boolean => expected.padded_mask[b][t] === 1;
    expect(maxDiff(floatData(out.logits), expected.padded_logits, real)).toBeLessThan(1e-4);
  });

  it('the composed forward that training differentiates matches as well (padded batch)', async () => {
    const g = new Graph();
    const inputs = {
      inputIds: g.input('input_ids', 'int64', ['B', 'T']),
      attentionMask: g.input('attention_mask', 'int64', ['B', 'T']),
      positionIds: g.input('position_ids', 'int64', ['B', 'T']),
    };
    g.output(buildDecoder(g, model.config, inputs, { fused: false }).logits!, 'logits');
    expect(g.nodes.some((n) => n.op === 'Attention' || n.op === 'RMSNormalization')).toBe(false);
    const session = await Session.create(g, { threads: 1 });
    const out = await session.run({
      input_ids: int64Matrix(expected.padded_ids),
      attention_mask: int64Matrix(expected.padded_mask),
      position_ids: int64Matrix(positionsOf(expected.padded_mask)),
      ...model.params.feeds(g.params.map((p) => p.name)),
    });
    await session.dispose();
    const real = (b: number, t: number): boolean => expected.padded_mask[b][t] === 1;
    expect(maxDiff(floatData(out.logits), expected.padded_logits, real)).toBeLessThan(1e-4);
  });
});
