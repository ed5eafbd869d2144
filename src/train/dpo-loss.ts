import type { Session } from '../engine/index.ts';
import {
  defineGradient,
  div,
  gather,
  mul,
  neg,
  OrtTensorClass,
  reduceSum,
  relu,
  reshape,
  sigmoid,
  sub,
  TrainingStep,
  add,
  type Graph,
  type OrtTensor,
  type Tensor,
} from '../engine/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { collate } from './batches.ts';
import type { EncodedRow } from './encode.ts';
import { DPO_LOSSES } from './knobs/dpo.ts';
import {
  lossGraph,
  openEval,
  padIdOf,
  type LossGraphOptions,
  type MicroResult,
} from './lm-loss.ts';

export { DPO_LOSSES };

/** A DPO loss variant. */
export type DpoLossType = (typeof DPO_LOSSES)[number];

/** The loss's settings. */
export interface DpoLossOptions {
  /** KL strength (TRL default 0.1). */
  beta: number;
  /** `sigmoid` (default), `ipo` or `hinge`. */
  loss?: DpoLossType;
  /** Conservative DPO's label smoothing for the sigmoid loss (default 0). */
  labelSmoothing?: number;
}

/** A tokenized preference pair. */
export interface EncodedPair {
  /** Prompt token ids. */
  prompt: number[];
  /** Preferred completion token ids. */
  chosen: number[];
  /** Dispreferred completion token ids. */
  rejected: number[];
  /** Where it came from. */
  source: EncodedRow['source'];
}

/** `log(1 + e^x)` with its gradient `sigmoid(x)` (ORT's Softplus is stable for large |x|). */
function softplus(x: Tensor): Tensor {
  const y = x.graph.addNode('Softplus', [x], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
  defineGradient({
    name: 'softplus',
    inputs: [x],
    outputs: [y],
    backward: ([gy]) => [gy ? mul(gy, sigmoid(x)) : undefined],
  });
  return y;
}

const logSigmoid = (x: Tensor): Tensor => neg(softplus(neg(x)));

/**
 * Per-pair DPO losses from policy and reference sequence log-probs laid out `[chosen..., rejected...]`:
 * with `h = (pc - rc) - (pr - rr)`, sigmoid `-(1-ε) logσ(βh) - ε logσ(-βh)`, IPO
 * `(h - 1/(2β))²` (on token-averaged log-probs), hinge `relu(1 - βh)`, as TRL's DPOTrainer.
 */
export function pairLosses(policy: Tensor, reference: Tensor, o: DpoLossOptions): Tensor {
  const rewards = reshape(sub(policy, reference), [2, -1]);
  const h = sub(gather(rewards, 0, 0), gather(rewards, 1, 0));
  const kind = o.loss ?? 'sigmoid';
  if (kind === 'ipo') {
    const d = sub(h, 1 / (2 * o.beta));
    return mul(d, d);
  }
  if (kind === 'hinge') return relu(sub(1, mul(h, o.beta)));
  const eps = o.labelSmoothing ?? 0;
  const scaled = mul(h, o.beta);
  const main = mul(neg(logSigmoid(scaled)), 1 - eps);
  return eps === 0 ? main : add(main, mul(neg(logSigmoid(neg(scaled))), eps));
}

function dpoHead(o: DpoLossOptions) {
  return (g: Graph, tokenLosses: Tensor) => {
    const reference = g.input('ref_logps', 'float32', ['N']);
    const tokens = neg(tokenLosses);
    let logps = reduceSum(tokens, [1], { keepdims: false });
    if (o.loss === 'ipo') logps = div(logps, g.input('lengths', 'float32', ['N']));
    return {
      loss: reduceSum(pairLosses(logps, reference, o), undefined, { keepdims: false }),
      extras: { logps },
    };
  };
}

/** Pairs as rows `[chosen..., rejected...]` with loss only on completion tokens. */
export function pairRows(pairs: readonly EncodedPair[]): EncodedRow[] {
  const row = (p: EncodedPair, completion: number[]): EncodedRow => ({
    ids: [...p.prompt, ...completion],
    mask: Uint8Array.from([...p.prompt.map(() => 0), ...completion.map(() => 1)]),
    source: p.source,
  });
  return [...pairs.map((p) => row(p, p.chosen)), ...pairs.map((p) => row(p, p.rejected))];
}

/**
 * TRL's metrics summed over pairs (the trainer divides by the pair count): implicit rewards
 * `β(policy - reference)` of chosen and rejected, their margin, how often chosen wins, and the
 * policy log-probs.
 */
export function dpoMetricSums(
  policy: ArrayLike<number>,
  reference: ArrayLike<number>,
  beta: number,
): Record<string, number> {
  const n = policy.length / 2;
  const sums: Record<string, number> = {
    'rewards/chosen': 0,
    'rewards/rejected': 0,
    'rewards/accuracies': 0,
    'rewards/margins': 0,
    'logps/chosen': 0,
    'logps/rejected': 0,
  };
  for (let i = 0; i < n; i++) {
    const chosen = beta * (policy[i] - reference[i]);
    const rejected = beta * (policy[n + i] - reference[n + i]);
    sums['rewards/chosen'] += chosen;
    sums['rewards/rejected'] += rejected;
    sums['rewards/accuracies'] += chosen > rejected ? 1 : 0;
    sums['rewards/margins'] += chosen - rejected;
    sums['logps/chosen'] += policy[i];
    sums['logps/rejected'] += policy[n + i];
  }
  return sums;
}

/**
 * The DPO objective over a model: policy sequence log-probs of chosen and rejected completions
 * in one forward, against precomputed reference log-probs fed as inputs, losses summed over
 * pairs (the trainer divides by the step's pair count).
 */
export class DpoLoss {
  private evalSession?: Promise<{ session: Session; paramNames: string[] }>;

  private constructor(
    private readonly model: CausalLM,
    /** The compiled forward+backward. */
    readonly step: TrainingStep,
    private readonly loss: DpoLossOptions,
    private readonly options: LossGraphOptions,
  ) {}

  /** Compiles the training step. */
  static async create(
    model: CausalLM,
    loss: DpoLossOptions,
    options: LossGraphOptions = {},
  ): Promise<DpoLoss> {
    const {
      graph,
      loss: total,
      extras,
    } = lossGraph(model, 'finemed-dpo-train', dpoHead(loss), { ...options, training: true });
    const step = await TrainingStep.create(graph, total, model.params, {
      ...options.session,
      extraOutputs: extras,
    });
    return new DpoLoss(model, step, loss, options);
  }

  private feeds(pairs: readonly EncodedPair[], reference: readonly number[]) {
    const batch = collate(pairRows(pairs), padIdOf(this.model));
    const ipo = this.loss.loss === 'ipo';
    const ref = Float32Array.from(reference, (r, i) => (ipo ? r / batch.targetCounts[i] : r));
    const feeds: Record<string, OrtTensor> = {
      input_ids: batch.inputIds,
      targets: batch.targets,
      ref_logps: new OrtTensorClass('float32', ref, [ref.length]),
    };
    if (ipo) {
      const lengths = Float32Array.from(batch.targetCounts);
      feeds.lengths = new OrtTensorClass('float32', lengths, [lengths.length]);
    }
    return { feeds, ref, tokens: batch.tokens };
  }

  private result(
    pairs: number,
    lossSum: number,
    logps: OrtTensor,
    ref: Float32Array,
    tokens: number,
  ): MicroResult {
    return {
      lossSum,
      weight: pairs,
      tokens,
      metricSums: dpoMetricSums(logps.data as Float32Array, ref, this.loss.beta),
    };
  }

  /** Forward and backward on pairs; `reference` holds their reference log-probs `[chosen..., rejected...]`. */
  async forwardBackward(
    pairs: readonly EncodedPair[],
    reference: readonly number[],
  ): Promise<MicroResult> {
    const { feeds, ref, tokens } = this.feeds(pairs, reference);
    const { loss, outputs } = await this.step.run(feeds);
    return this.result(pairs.length, loss, outputs.logps, ref, tokens);
  }

  /** Loss and metrics of pairs, forward only. */
  async evaluate(
    pairs: readonly EncodedPair[],
    reference: readonly number[],
  ): Promise<MicroResult> {
    this.evalSession ??= (async () => {
      const { graph, loss, extras } = lossGraph(
        this.model,
        'finemed-dpo-eval',
        dpoHead(this.loss),
        {
          ...this.options,
          training: false,
        },
      );
      graph.output(loss, 'loss');
      graph.output(extras.logps, 'logps');
      return openEval(graph, this.model, this.options);
    })();
    const { session, paramNames } = await this.evalSession;
    const { feeds, ref, tokens } = this.feeds(pairs, reference);
    const out = await session.run({ ...feeds, ...this.model.params.feeds(paramNames) }, [
      'loss',
      'logps',
    ]);
    return this.result(
      pairs.length,
      Number((out.loss.data as Float32Array)[0]),
      out.logps,
      ref,
      tokens,
    );
  }

  /** Releases both sessions. */
  async dispose(): Promise<void> {
    await this.step.dispose();
    if (this.evalSession) await (await this.evalSession).session.dispose();
  }
}
