import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { buildGpt, gptParamCount, initGpt } from './gpt.ts';
import { Graph } from './graph.ts';
import {
  applyRotary,
  attention,
  attentionBias,
  declareLinear,
  embedding,
  layerNorm,
  linear,
  rmsNorm,
  rotaryTables,
  silu,
} from './nn.ts';
import { concat, dimOf } from './ops-shape.ts';
import { ParamSet } from './params.ts';
import { evaluate, feed, maxAbsDiff, randn } from './testing.ts';

describe('layer kit forward', () => {
  it('linear(x, p) applies HF [out, in] weights to symbolic-batch inputs without a Transpose node', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['B', 'T', 3]);
    const p = declareLinear(g, 'fc', 3, 2, { bias: true });
    const y = linear(x, p);
    expect(y.shape).toEqual(['B', 'T', 2]);
    g.output(y, 'y');
    expect(g.liveNodes().some((n) => n.op === 'Transpose')).toBe(false);
    const out = await evaluate(g, {
      x: feed('float32', [1, 2, 3, 4, 5, 6], [1, 2, 3]),
      'fc.weight': feed('float32', [1, 0, 0, 0, 1, 1], [2, 3]),
      'fc.bias': feed('float32', [0.5, -1], [2]),
    });
    expect(out.y.data).toEqual([1.5, 4, 4.5, 10]);
  });

  it('rmsNorm, layerNorm and silu match their formulas', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 4]);
    const w = g.input('w', 'float32', [4]);
    const b = g.input('b', 'float32', [4]);
    g.output(rmsNorm(x, w, 1e-6), 'rms');
    g.output(layerNorm(x, w, b, 1e-5), 'ln');
    g.output(silu(x), 'silu');
    const xs = randn(1, 8);
    const ws = [1, 2, 0.5, -1];
    const bs = [0, 0.1, 0.2, 0.3];
    const out = await evaluate(g, {
      x: feed('float32', xs, [2, 4]),
      w: feed('float32', ws, [4]),
      b: feed('float32', bs, [4]),
    });
    for (let r = 0; r < 2; r++) {
      const row = xs.slice(r * 4, r * 4 + 4);
      const ms = row.reduce((s, v) => s + v * v, 0) / 4;
      const mean = row.reduce((s, v) => s + v, 0) / 4;
      const varc = row.reduce((s, v) => s + (v - mean) ** 2, 0) / 4;
      row.forEach((v, i) => {
        expect(out.rms.data[r * 4 + i]).toBeCloseTo((v / Math.sqrt(ms + 1e-6)) * ws[i], 5);
        expect(out.ln.data[r * 4 + i]).toBeCloseTo(
          ((v - mean) / Math.sqrt(varc + 1e-5)) * ws[i] + bs[i],
          5,
        );
        expect(out.silu.data[r * 4 + i]).toBeCloseTo(v / (1 + Math.exp(-v)), 6);
      });
    }
  });

  it('rotaryTables + applyRotary follow HF Llama rotate-half', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [1, 1, 2, 4]);
    const pos = g.input('pos', 'int64', [1, 2]);
    g.output(applyRotary(x, rotaryTables(pos, 4, 10000)), 'y');
    const xs = [1, 2, 3, 4, 5, 6, 7, 8];
    const out = await evaluate(g, {
      x: feed('float32', xs, [1, 1, 2, 4]),
      pos: feed('int64', [0, 3], [1, 2]),
    });
    expect(out.y.data.slice(0, 4).map((v) => Number(v.toFixed(5)))).toEqual([1, 2, 3, 4]);
    const inv = [1, 1 / 100];
    const row = xs.slice(4);
    const rot = [-row[2], -row[3], row[0], row[1]];
    row.forEach((v, i) => {
      const f = 3 * inv[i % 2];
      expect(out.y.data[4 + i]).toBeCloseTo(v * Math.cos(f) + rot[i] * Math.sin(f), 5);
    });
  });

  it('attention with a causal + key-padding bias ignores future and padded keys', async () => {
    const g = new Graph();
    const q = g.input('q', 'float32', ['B', 1, 'T', 2]);
    const v = g.input('v', 'float32', ['B', 1, 'T', 2]);
    const keyMask = g.input('mask', 'int64', ['B', 'T']);
    const bias = attentionBias(g, dimOf(q, 2), dimOf(q, 2), { causal: true, keyMask });
    g.output(attention(q, q, v, { bias }), 'y');
    const out = await evaluate(g, {
      q: feed('float32', [0, 0, 0, 0, 0, 0], [1, 1, 3, 2]),
      v: feed('float32', [1, 10, 2, 20, 4, 40], [1, 1, 3, 2]),
      mask: feed('int64', [1, 0, 1], [1, 3]),
    });
    // Equal scores: row 0 sees key 0; row 1 sees key 0 (key 1 is padding); row 2 sees keys 0 and 2.
    expect(out.y.data.map((x) => Number(x.toFixed(5)))).toEqual([1, 10, 1, 10, 2.5, 25]);
  });

  it('attention over cached keys (concat of past and new, symbolic lengths) matches full causal attention', async () => {
    const g = new Graph();
    const q = g.input('q', 'float32', ['B', 2, 'T', 4]);
    const pastK = g.input('past_k', 'float32', ['B', 2, 'P', 4]);
    const pastV = g.input('past_v', 'float32', ['B', 2, 'P', 4]);
    const k = concat([pastK, g.input('k', 'float32', ['B', 2, 'T', 4])], 2);
    const v = concat([pastV, g.input('v', 'float32', ['B', 2, 'T', 4])], 2);
    expect(k.shape).toEqual(['B', 2, 'P+T', 4]);
    const bias = attentionBias(g, dimOf(q, 2), dimOf(k, 2), { causal: true });
    g.output(attention(q, k, v, { bias }), 'y');
    const [qs, ks, vs] = [randn('q', 32), randn('k', 32), randn('v', 32)];
    const rows = (a: number[], from: number, to: number): number[] =>
      [0, 1].flatMap((h) => a.slice(h * 16 + from * 4, h * 16 + to * 4));
    const run = (split: number) =>
      evaluate(g, {
        q: feed('float32', rows(qs, split, 4), [1, 2, 4 - split, 4]),
        past_k: feed('float32', rows(ks, 0, split), [1, 2, split, 4]),
        past_v: feed('float32', rows(vs, 0, split), [1, 2, split, 4]),
        k: feed('float32', rows(ks, split, 4), [1, 2, 4 - split, 4]),
        v: feed('float32', rows(vs, split, 4), [1, 2, 4 - split, 4]),
      });
    const full = (await run(0)).y.data;
    const cached = (await run(3)).y.data;
    expect(maxAbsDiff(cached, rows(full, 3, 4))).toBeLessThan(1e-6);
  });

  it('buildGpt(g, config, ids) runs with symbolic batch and length, and initGpt fills every parameter', async () => {
    const cfg = { vocab: 11, dModel: 8, layers: 2, heads: 2, maxSeq: 6 };
    const g = new Graph();
    const ids = g.input('ids', 'int64', ['B', 'T']);
    const targets = g.input('targets', 'int64', ['B', 'T']);
    const { logits, loss } = buildGpt(g, cfg, ids, targets);
    expect(logits.shape).toEqual(['B', 'T', 11]);
    g.output(loss!, 'loss');
    const params = ParamSet.fromGraph(g);
    expect(params.count).toBe(gptParamCount(cfg));
    initGpt(params, cfg, new Rng(7));
    const out = await evaluate(g, {
      ids: feed('int64', [1, 2, 3, 4, 5, 6, 7, 8], [2, 4]),
      targets: feed('int64', [2, 3, 4, -100, 6, 7, 8, 9], [2, 4]),
      ...params.feeds(),
    });
    // Small random init: the loss is close to ln(vocab).
    expect(Math.abs(out.loss.data[0] - Math.log(11))).toBeLessThan(0.1);
  });

  it('embedding(weight, ids) picks rows', async () => {
    const g = new Graph();
    const w = g.input('w', 'float32', [3, 2]);
    g.output(embedding(w, g.input('ids', 'int64', [2])), 'y');
    const out = await evaluate(g, {
      w: feed('float32', [0, 1, 2, 3, 4, 5], [3, 2]),
      ids: feed('int64', [2, 0], [2]),
    });
    expect(out.y.data).toEqual([4, 5, 0, 1]);
  });
});
