import { gradients } from './autodiff.ts';
import type { Graph, Tensor } from './graph.ts';
import { ParamSet } from './params.ts';
import { OrtTensorClass, Session, type OrtTensor, type SessionOptions } from './session.ts';

/**
 * Options for {@link TrainingStep.create}. The graph's frozen parameters (the base model
 * under LoRA) are session initializers taken from `weights`, default the step's ParamSet.
 */
export interface TrainingStepOptions extends SessionOptions {
  /** More tensors to fetch each step (e.g. token counts, accuracies), by output name. */
  extraOutputs?: Record<string, Tensor>;
}

/** What one forward+backward run returns. */
export interface StepResult {
  /** The scalar loss. */
  loss: number;
  /** The extra outputs asked for. */
  outputs: Record<string, OrtTensor>;
}

/** Output name of a parameter's gradient in training graphs. */
export const gradName = (param: string): string => `grad::${param}`;

/**
 * A compiled forward+backward pass: each `run` computes the loss and writes the gradients
 * of the trainable parameters straight into {@link grads} (an arena with the parameters'
 * layout, ready for an optimizer). Parameters are fed as views of their arena, so updates
 * made between steps need no copy; frozen ones (`g.param(..., { frozen: true })`) live in
 * the session and are not fed at all.
 */
export class TrainingStep {
  /** Gradients of the last run (zero for frozen parameters and ones the loss does not use). */
  readonly grads: ParamSet;
  private readonly fetches: Record<string, OrtTensor | null>;
  private readonly paramFeeds: Record<string, OrtTensor>;

  private constructor(
    /** The compiled session. */
    readonly session: Session,
    /** The parameters fed each step. */
    readonly params: ParamSet,
    /** Names of parameters whose gradients the graph computes. */
    readonly differentiated: readonly string[],
    extras: readonly string[],
  ) {
    this.grads = ParamSet.zerosLike(params);
    this.paramFeeds = params.feeds(session.inputNames.filter((n) => params.has(n)));
    this.fetches = { loss: null };
    for (const name of extras) this.fetches[name] = null;
    for (const name of differentiated) {
      this.fetches[gradName(name)] = new OrtTensorClass('float32', this.grads.view(name), [
        ...params.entry(name).shape,
      ]);
    }
  }

  /**
   * Appends the backward pass for the trainable parameters of `params` to `graph` (which
   * must have no outputs yet), and compiles loss + extras + gradients into one session.
   */
  static async create(
    graph: Graph,
    loss: Tensor,
    params: ParamSet,
    options: TrainingStepOptions = {},
  ): Promise<TrainingStep> {
    if (graph.outputs.length > 0) {
      throw new Error(
        'TrainingStep.create: the graph already has outputs; pass extra tensors as extraOutputs',
      );
    }
    if (loss.rank !== 0) throw new Error(`TrainingStep.create: loss must be a scalar, got ${loss}`);
    for (const p of graph.params) {
      if (p.frozen && options.weights) continue;
      if (!params.has(p.name)) throw new Error(`TrainingStep.create: ParamSet has no '${p.name}'`);
      if (p.frozen && params.entry(p.name).trainable) {
        throw new Error(
          `TrainingStep.create: '${p.name}' is frozen in the graph but trainable in the ParamSet (mark it with setTrainable, or declare it trainable)`,
        );
      }
      const shape = params.entry(p.name).shape;
      if (shape.join(',') !== p.shape.join(',')) {
        throw new Error(
          `TrainingStep.create: '${p.name}' is [${shape}] in the ParamSet but [${p.shape}] in the graph`,
        );
      }
    }
    const trainable = graph.params.filter((p) => !p.frozen && params.entry(p.name).trainable);
    const grads = gradients(
      loss,
      trainable.map((p) => p.tensor),
    );
    graph.output(loss, 'loss');
    const extras = Object.entries(options.extraOutputs ?? {});
    for (const [name, t] of extras) graph.output(t, name);
    const differentiated: string[] = [];
    grads.forEach((g, i) => {
      if (!g) return;
      graph.output(g, gradName(trainable[i].name));
      differentiated.push(trainable[i].name);
    });
    const frozen = graph.params.some((p) => p.frozen);
    const session = await Session.create(graph, {
      ...options,
      weights: options.weights ?? (frozen ? params : undefined),
    });
    return new TrainingStep(
      session,
      params,
      differentiated,
      extras.map(([n]) => n),
    );
  }

  /** Runs forward and backward on `feeds` (data inputs; parameters are added). */
  async run(feeds: Record<string, OrtTensor>): Promise<StepResult> {
    const out = await this.session.run({ ...feeds, ...this.paramFeeds }, this.fetches);
    const { loss, ...rest } = out;
    for (const name of this.differentiated) delete rest[gradName(name)];
    return { loss: Number((loss.data as Float32Array)[0]), outputs: rest };
  }

  /** Releases the session. */
  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
