import { describe, expect, it } from 'vitest';
import { gradients } from './autodiff.ts';
import { buildGpt } from './gpt.ts';
import { Graph, type Tensor } from './graph.ts';
import {
  applyRotary,
  attention,
  attentionBias,
  declareLinear,
  linear,
  mergeHeads,
  rmsNorm,
  rotaryTables,
  silu,
  splitHeads,
} from './nn.ts';
import { add, mul } from './ops-math.ts';
import { reduceSum } from './ops-nn.ts';
import { expand, reshape, unsqueeze } from './ops-shape.ts';
import { Session, type OrtTensor } from './session.ts';
import { decode, feed, loadFixture, type Stored } from './testing.ts';

interface Fixture {
  config: Record<string, number>;
  inputs: Record<string, Stored>;
  params: Record<string, Stored>;
  loss: number;
  grads: Record<string, Stored>;
}

function toFeed(s: Stored): OrtTensor {
  return feed(s.dtype, decode(s), s.shape);
}

/** Runs loss and gradients of `wrt`, and returns each gradient's error relative to the reference's largest magnitude. */
async function compare(
  g: Graph,
  loss: Tensor,
  wrt: Tensor[],
  fx: Fixture,
): Promise<{ loss: number; worst: number; errors: Record<string, number> }> {
  g.output(loss, 'loss');
  gradients(loss, wrt).forEach((gr, i) => g.output(gr!, `grad.${wrt[i].name}`));
  const session = await Session.create(g, { threads: 2 });
  const feeds = Object.fromEntries(
    [...Object.entries(fx.inputs), ...Object.entries(fx.params)].map(([k, v]) => [k, toFeed(v)]),
  );
  const out = await session.run(feeds);
  const errors: Record<string, number> = {};
  for (const t of wrt) {
    const ref = decode(fx.grads[t.name]);
    const ours = Array.from(out[`grad.${t.name}`].data as Float32Array);
    const scale = Math.max(...ref.map(Math.abs));
    errors[t.name] = Math.max(...ours.map((v, i) => Math.abs(v - ref[i]))) / scale;
  }
  await session.dispose();
  const worst = Math.max(...Object.values(errors));
  return { loss: (out.loss.data as Float32Array)[0], worst, errors };
}

describe('parity with PyTorch (fixtures from scripts/fixtures/engine_parity.py)', () => {
  it('a Llama/Qwen2-style block (RMSNorm, biased GQA attention, rotary, padding mask, SwiGLU): loss and every gradient', async () => {
    const fx = loadFixture<Fixture>('parity_block.json');
    const { batch: B, seq: T, dModel: D, heads: H, kvHeads: HK, hidden, eps, theta } = fx.config;
    const dh = D / H;
    const g = new Graph();
    const x = g.input('x', 'float32', [B, T, D]);
    const weights = g.input('weights', 'float32', [B, T, D]);
    const mask = g.input('mask', 'int64', [B, T]);
    const positions = g.input('positions', 'int64', [B, T]);
    const inNorm = g.param('input_layernorm.weight', [D]);
    const q = declareLinear(g, 'self_attn.q_proj', D, H * dh, { bias: true });
    const k = declareLinear(g, 'self_attn.k_proj', D, HK * dh, { bias: true });
    const v = declareLinear(g, 'self_attn.v_proj', D, HK * dh, { bias: true });
    const o = declareLinear(g, 'self_attn.o_proj', H * dh, D);
    const postNorm = g.param('post_attention_layernorm.weight', [D]);
    const gate = declareLinear(g, 'mlp.gate_proj', D, hidden);
    const up = declareLinear(g, 'mlp.up_proj', D, hidden);
    const down = declareLinear(g, 'mlp.down_proj', hidden, D);

    const repeatKv = (t: Tensor): Tensor =>
      reshape(expand(unsqueeze(t, [2]), [1, 1, H / HK, 1, 1]), [B, H, T, dh]);
    const h = rmsNorm(x, inNorm, eps);
    const tables = rotaryTables(positions, dh, theta);
    const qh = applyRotary(splitHeads(linear(h, q), H), tables);
    const kh = repeatKv(applyRotary(splitHeads(linear(h, k), HK), tables));
    const vh = repeatKv(splitHeads(linear(h, v), HK));
    const bias = attentionBias(g, T, T, { causal: true, keyMask: mask });
    const x1 = add(x, linear(mergeHeads(attention(qh, kh, vh, { bias })), o));
    const m = rmsNorm(x1, postNorm, eps);
    const out = add(x1, linear(mul(silu(linear(m, gate)), linear(m, up)), down));
    const loss = reduceSum(mul(out, weights), undefined, { keepdims: false });

    const result = await compare(g, loss, [x, ...g.params.map((p) => p.tensor)], fx);
    expect(Math.abs(result.loss - fx.loss) / Math.abs(fx.loss)).toBeLessThan(1e-5);
    expect(Object.keys(result.errors)).toHaveLength(13);
    expect(result.worst).toBeLessThan(2e-5);
  });

  it('a whole small GPT (tied head, LayerNorm, GELU, masked cross-entropy): loss and every gradient', async () => {
    const fx = loadFixture<Fixture>('parity_gpt.json');
    const cfg = {
      vocab: fx.config.vocab,
      dModel: fx.config.dModel,
      layers: fx.config.layers,
      heads: fx.config.heads,
      maxSeq: fx.config.maxSeq,
      eps: fx.config.eps,
    };
    const g = new Graph();
    const ids = g.input('ids', 'int64', ['B', 'T']);
    const targets = g.input('targets', 'int64', ['B', 'T']);
    const { loss } = buildGpt(g, cfg, ids, targets);
    const result = await compare(
      g,
      loss!,
      g.params.map((p) => p.tensor),
      fx,
    );
    expect(Math.abs(result.loss - fx.loss)).toBeLessThan(1e-5);
    expect(Object.keys(result.errors)).toHaveLength(Object.keys(fx.params).length);
    expect(result.worst).toBeLessThan(2e-5);
  });
});
