import { throwIfCancelled } from '../core/errors.ts';
import {
  Graph,
  lmHeadCrossEntropy,
  reduceSum,
  reshape,
  reshapeLike,
  Session,
  TrainingStep,
  type OrtTensor,
  type SessionOptions,
  type Tensor,
} from '../engine/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { buildDecoder } from '../model/decoder.ts';
import { collate } from './batches.ts';
import type { EncodedRow } from './encode.ts';

/** What one micro-batch's forward (and backward) gave: sums, normalized by the caller. */
export interface MicroResult {
  /** Sum of the per-unit losses (per target token for language modelling, per pair for DPO). */
  lossSum: number;
  /** How many units the loss sums over. */
  weight: number;
  /** Input tokens processed (for throughput). */
  tokens: number;
  /** Stage metrics summed over units (divided by the step's weight when reported). */
  metricSums?: Record<string, number>;
}

/**
 * Mean loss and metrics over `size` held-out units, evaluated `batchSize` at a time by
 * `run(indices)`: sums over every batch, divided by the total weight once.
 */
export async function evaluateInBatches(
  size: number,
  batchSize: number,
  run: (indices: number[]) => Promise<MicroResult>,
  signal?: AbortSignal,
): Promise<{ loss: number; metrics: Record<string, number> }> {
  let lossSum = 0;
  let weight = 0;
  const sums: Record<string, number> = {};
  for (let start = 0; start < size; start += batchSize) {
    throwIfCancelled(signal);
    const r = await run(
      Array.from({ length: Math.min(batchSize, size - start) }, (_, k) => start + k),
    );
    lossSum += r.lossSum;
    weight += r.weight;
    for (const [k, v] of Object.entries(r.metricSums ?? {})) sums[k] = (sums[k] ?? 0) + v;
  }
  const metrics = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / weight]));
  return { loss: lossSum / weight, metrics };
}

/** How a loss graph is compiled. */
export interface LossGraphOptions {
  /** ONNX Runtime settings; fix `threads` for bit-reproducible runs. */
  session?: SessionOptions;
  /** Seed of LoRA dropout masks in the training graph. */
  dropoutSeed?: number;
  /** Vocabulary columns of the output head's logits computed at once (default: the op's). */
  headChunk?: number;
  /**
   * Under LoRA, feed the frozen base per run from the model's arena instead of the session
   * holding a copy (on CPU no slower, and the base is then in memory once; on a GPU it would
   * cross per run). Default false.
   */
  feedBase?: boolean;
  /**
   * Gradient checkpointing in the training graph: each decoder layer's activations are rebuilt
   * in the backward pass instead of kept (see `DecoderOptions.checkpoint`). Default false.
   */
  checkpoint?: boolean;
}

/** The padding id of a model: the tokenizer's, the config's, or 0. */
export function padIdOf(model: CausalLM): number {
  return model.tokenizer?.padTokenId ?? model.config.padTokenId ?? 0;
}

/**
 * Builds a graph over `input_ids` / `targets` `[B, T]` for the model, with `head` adding the
 * loss (a scalar) and any extra outputs from the per-token cross-entropy `[B, T]` (0 where the
 * target is -100). The output head runs only at scored positions, one vocabulary chunk at a
 * time ({@link lmHeadCrossEntropy}): `[B, T, vocab]` logits never exist. Under LoRA the base
 * parameters are frozen (session initializers) unless `feedBase`.
 */
export function lossGraph(
  model: CausalLM,
  name: string,
  head: (
    g: Graph,
    tokenLosses: Tensor,
    targets: Tensor,
  ) => { loss: Tensor; extras?: Record<string, Tensor> },
  options: LossGraphOptions & { training: boolean },
): { graph: Graph; loss: Tensor; extras: Record<string, Tensor> } {
  const { training, headChunk, feedBase = false } = options;
  const graph = new Graph({ name });
  const inputIds = graph.input('input_ids', 'int64', ['B', 'T']);
  const targets = graph.input('targets', 'int64', ['B', 'T']);
  const decoder = model.decoderOptions();
  const { hidden } = buildDecoder(
    graph,
    model.config,
    { inputIds },
    {
      ...decoder,
      training,
      dropoutSeed: training ? (options.dropoutSeed ?? 0) : 0,
      checkpoint: training && options.checkpoint,
      logits: 'none',
    },
  );
  const { hiddenSize: d, vocabSize: V } = model.config;
  const weight = model.config.tieWordEmbeddings
    ? graph.paramByName('model.embed_tokens.weight')!.tensor
    : graph.param('lm_head.weight', [V, d], { trainable: decoder.trainableBase ?? true });
  const flat = lmHeadCrossEntropy(reshape(hidden, [-1, d]), weight, reshape(targets, [-1]), {
    chunk: headChunk,
    fuseHiddenGrad: training,
  });
  const { loss, extras = {} } = head(graph, reshapeLike(flat, targets), targets);
  // Under LoRA the session holds the frozen base (unless fed), so only adapters cross per run.
  if (model.lora && !feedBase) graph.freeze((p) => !p.trainable);
  return { graph, loss, extras };
}

const sumLoss = (_g: Graph, tokenLosses: Tensor) => ({
  loss: reduceSum(tokenLosses, undefined, { keepdims: false }),
});

/**
 * The causal language-modelling loss of a model: summed token cross-entropy on masked
 * targets, with a compiled training step (gradients of the trainable parameters) and a
 * forward-only evaluation session. Summing lets gradient accumulation weight every target
 * token equally, exactly as one large batch would.
 */
export class LmLoss {
  private evalSession?: Promise<{ session: Session; paramNames: string[] }>;

  private constructor(
    private readonly model: CausalLM,
    /** The compiled forward+backward. */
    readonly step: TrainingStep,
    private readonly options: LossGraphOptions,
  ) {}

  /** Compiles the training step for the model's current parameter layout. */
  static async create(model: CausalLM, options: LossGraphOptions = {}): Promise<LmLoss> {
    const { graph, loss } = lossGraph(model, 'finemed-lm-train', sumLoss, {
      ...options,
      training: true,
    });
    const step = await TrainingStep.create(graph, loss, model.params, options.session);
    return new LmLoss(model, step, options);
  }

  /** Forward and backward on rows; gradients land in `step.grads`. */
  async forwardBackward(rows: readonly EncodedRow[]): Promise<MicroResult> {
    const batch = collate(rows, padIdOf(this.model));
    const { loss } = await this.step.run({ input_ids: batch.inputIds, targets: batch.targets });
    return { lossSum: loss, weight: sum(batch.targetCounts), tokens: batch.tokens };
  }

  /** Summed loss and target count of rows, forward only (no dropout). */
  async evaluate(rows: readonly EncodedRow[]): Promise<MicroResult> {
    this.evalSession ??= (async () => {
      const { graph, loss } = lossGraph(this.model, 'finemed-lm-eval', sumLoss, {
        ...this.options,
        training: false,
      });
      graph.output(loss, 'loss');
      return openEval(graph, this.model, this.options);
    })();
    const { session, paramNames } = await this.evalSession;
    const batch = collate(rows, padIdOf(this.model));
    const out: Record<string, OrtTensor> = await session.run(
      {
        input_ids: batch.inputIds,
        targets: batch.targets,
        ...this.model.params.feeds(paramNames),
      },
      ['loss'],
    );
    return {
      lossSum: Number((out.loss.data as Float32Array)[0]),
      weight: sum(batch.targetCounts),
      tokens: batch.tokens,
    };
  }

  /** Releases both sessions. */
  async dispose(): Promise<void> {
    await this.step.dispose();
    if (this.evalSession) await (await this.evalSession).session.dispose();
  }
}

/** A forward-only session of a loss graph, and the parameters it is fed (the non-frozen ones). */
export async function openEval(
  graph: Graph,
  model: CausalLM,
  options: LossGraphOptions,
): Promise<{ session: Session; paramNames: string[] }> {
  const frozen = graph.params.some((p) => p.frozen);
  const session = await Session.create(graph, {
    ...options.session,
    ...(frozen ? { weights: model.params } : {}),
  });
  return { session, paramNames: graph.params.filter((p) => !p.frozen).map((p) => p.name) };
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
