import type { Rng } from '../core/rng.ts';
import type { Graph, Tensor } from './graph.ts';
import {
  attention,
  attentionBias,
  declareLinear,
  embedding,
  gelu,
  layerNorm,
  linear,
  mergeHeads,
  splitHeads,
  type LinearParams,
} from './nn.ts';
import { add } from './ops-math.ts';
import { crossEntropy, matmul } from './ops-nn.ts';
import { dimOf, split, squeeze } from './ops-shape.ts';
import { range } from './ops-index.ts';
import type { ParamSet } from './params.ts';

/** A GPT-2-style decoder: the engine's reference model for tests and `bench train`. */
export interface GptConfig {
  /** Vocabulary size. */
  vocab: number;
  /** Width of the residual stream. */
  dModel: number;
  /** Transformer blocks. */
  layers: number;
  /** Attention heads (dModel must divide evenly). */
  heads: number;
  /** Longest sequence (rows of the position table). */
  maxSeq: number;
  /** MLP hidden width as a multiple of dModel (default 4). */
  mlpRatio?: number;
  /** LayerNorm epsilon (default 1e-5). */
  eps?: number;
}

/** The tensors a GPT graph exposes. */
export interface GptGraph {
  /** `[B, T, vocab]`. */
  logits: Tensor;
  /** Mean next-token cross-entropy over targets that are not -100, when targets were given. */
  loss?: Tensor;
}

interface Block {
  ln1: [Tensor, Tensor];
  qkv: LinearParams;
  proj: LinearParams;
  ln2: [Tensor, Tensor];
  up: LinearParams;
  down: LinearParams;
}

function declareBlock(g: Graph, i: number, c: GptConfig): Block {
  const d = c.dModel;
  const hidden = d * (c.mlpRatio ?? 4);
  const p = `h.${i}`;
  return {
    ln1: [g.param(`${p}.ln_1.weight`, [d]), g.param(`${p}.ln_1.bias`, [d])],
    qkv: declareLinear(g, `${p}.attn.c_attn`, d, 3 * d, { bias: true }),
    proj: declareLinear(g, `${p}.attn.c_proj`, d, d, { bias: true }),
    ln2: [g.param(`${p}.ln_2.weight`, [d]), g.param(`${p}.ln_2.bias`, [d])],
    up: declareLinear(g, `${p}.mlp.c_fc`, d, hidden, { bias: true }),
    down: declareLinear(g, `${p}.mlp.c_proj`, hidden, d, { bias: true }),
  };
}

/**
 * Builds a GPT forward (and loss) on `ids [B, T]` (int64): learned token and position
 * embeddings, pre-LayerNorm blocks with causal multi-head attention and a GELU MLP, a final
 * LayerNorm and a head tied to the token embedding.
 */
export function buildGpt(g: Graph, c: GptConfig, ids: Tensor, targets?: Tensor): GptGraph {
  const eps = c.eps ?? 1e-5;
  const wte = g.param('wte', [c.vocab, c.dModel]);
  const wpe = g.param('wpe', [c.maxSeq, c.dModel]);
  const seq = ids.shape[1];
  const positions =
    typeof seq === 'number'
      ? g.int64s(Array.from({ length: seq }, (_, i) => i))
      : range(0, squeeze(dimOf(ids, 1), [0]), 1);
  let x = add(embedding(wte, ids), embedding(wpe, positions));
  const bias = attentionBias(
    g,
    typeof seq === 'number' ? seq : dimOf(ids, 1),
    typeof seq === 'number' ? seq : dimOf(ids, 1),
    { causal: true },
  );
  for (let i = 0; i < c.layers; i++) {
    const b = declareBlock(g, i, c);
    const h = layerNorm(x, b.ln1[0], b.ln1[1], eps);
    const [q, k, v] = split(linear(h, b.qkv), [c.dModel, c.dModel, c.dModel], -1).map((t) =>
      splitHeads(t, c.heads),
    );
    x = add(x, linear(mergeHeads(attention(q, k, v, { bias })), b.proj));
    const m = layerNorm(x, b.ln2[0], b.ln2[1], eps);
    x = add(x, linear(gelu(linear(m, b.up)), b.down));
  }
  const lnf = layerNorm(
    x,
    g.param('ln_f.weight', [c.dModel]),
    g.param('ln_f.bias', [c.dModel]),
    eps,
  );
  const logits = matmul(lnf, wte, { transB: true });
  return { logits, loss: targets ? crossEntropy(logits, targets) : undefined };
}

/** GPT-2 initialization: N(0, 0.02) weights, residual projections scaled by 1/sqrt(2·layers), unit norms, zero biases. */
export function initGpt(params: ParamSet, c: GptConfig, rng: Rng): void {
  for (const e of params.entries) {
    if (e.name.endsWith('.bias')) params.fill(e.name, 0);
    else if (/ln_\w+\.weight$/.test(e.name)) params.fill(e.name, 1);
    else {
      const residual = e.name.endsWith('c_proj.weight');
      params.fillNormal(e.name, rng.fork(e.name), residual ? 0.02 / Math.sqrt(2 * c.layers) : 0.02);
    }
  }
}

/** The parameter count of a GPT config (tied head). */
export function gptParamCount(c: GptConfig): number {
  const d = c.dModel;
  const h = d * (c.mlpRatio ?? 4);
  const block = 4 * d + 3 * d * d + 3 * d + d * d + d + d * h + h + h * d + d;
  return c.vocab * d + c.maxSeq * d + c.layers * block + 2 * d;
}
