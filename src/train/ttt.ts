import { throwIfCancelled } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import {
  AdamW,
  gradNorm,
  ParamSet,
  providerFromEnv,
  SGD,
  type Optimizer,
  type SessionOptions,
} from '../engine/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { encodeSft, type EncodedRow } from './encode.ts';
import { LmLoss } from './lm-loss.ts';
import { TTT_PRESETS, presetFor, type TrainPreset } from './presets.ts';
import type { Neighbour, RetrievalIndex } from './retrieve/index.ts';
import { prepareLora, tokenizerOf, type StageLora } from './stage.ts';

/** How test-time training adapts to each question. */
export interface TttOptions {
  /** Preset of k, steps and lr (default: the one the model's shape matches). */
  preset?: TrainPreset;
  /** Neighbours retrieved per question (paper: 1). */
  k?: number;
  /** Optimizer steps on each neighbour, nearest first (paper: 1). */
  steps?: number;
  /** Learning rate of the fresh optimizer (paper: 1e-5). */
  lr?: number;
  /** `adamw` (default) or `sgd`; a fresh one per question. */
  optimizer?: 'adamw' | 'sgd';
  /** Decoupled weight decay (default 0). */
  weightDecay?: number;
  /** Gradient clipping threshold (default 1; 0 = off). */
  maxGradNorm?: number;
  /** Longest neighbour in tokens (longer ones are cut; default min(512, context)). */
  maxLength?: number;
  /** Loss on the neighbour's prompt too (default: its answer only, as SFT). */
  trainOnPrompt?: boolean;
  /** Adapt LoRA adapters instead of all parameters (reset to their initial values per question). */
  lora?: StageLora;
  /** ONNX Runtime settings. */
  session?: SessionOptions;
}

/** What adapting to one question did. */
export interface Adaptation {
  /** The neighbours trained on, nearest first. */
  neighbours: (Neighbour & { text: string; loss: number[] })[];
  /** Milliseconds spent retrieving. */
  retrieveMs: number;
  /** Milliseconds spent training. */
  adaptMs: number;
}

/**
 * Test-time training on nearest neighbours (FineMedLM-o1 step 5; Hardt & Sun's TTT-NN): for
 * a question, retrieve the k nearest training examples, take `steps` optimizer steps on each
 * (nearest first) with a fresh optimizer (one optimizer, reset per question), let the caller answer, then restore the weights
 * from a snapshot of the base weights and check they are bit-identical. Under LoRA only the
 * adapters train, so only they are snapshotted and restored: no full weight copy per question.
 */
export class TestTimeTrainer {
  /** Resolved k, steps and lr. */
  readonly settings: { k: number; steps: number; lr: number; preset: TrainPreset };
  private readonly snapshot: Float32Array;
  /** Arena ranges the snapshot covers: the trainable parameters (all of them without LoRA). */
  private readonly ranges: readonly [number, number][];
  /** SHA-256 of the base weights (the parameter arena's bytes), taken before any adaptation. */
  readonly baseHash: string;
  private readonly encoded = new Map<number, EncodedRow | null>();
  private optimizer?: Optimizer;
  /** What the optimizer steps: the model's parameters and gradients, or under LoRA views of their adapters. */
  private readonly trained: { params: ParamSet; grads: ParamSet };

  private constructor(
    /** The model being adapted (its weights change between `adapt` and `restore`). */
    readonly model: CausalLM,
    /** Where neighbours come from. */
    readonly index: RetrievalIndex,
    private readonly loss: LmLoss,
    private readonly options: TttOptions,
  ) {
    const preset = options.preset ?? presetFor(model);
    const p = TTT_PRESETS[preset];
    this.settings = {
      k: options.k ?? p.k,
      steps: options.steps ?? p.steps,
      lr: options.lr ?? p.lr,
      preset,
    };
    const data = model.params.data;
    this.ranges = model.lora ? model.params.trainableRanges() : [[0, data.length]];
    this.snapshot = model.lora
      ? gatherRanges(model.params.storage, this.ranges)
      : model.params.snapshot();
    this.baseHash = hashArena(data);
    this.trained = model.lora
      ? adapterViews(model.params, loss.step.grads)
      : { params: model.params, grads: loss.step.grads };
  }

  /**
   * Attaches adapters if asked, snapshots the base weights and compiles the training step.
   * Under LoRA on CPU the training step reads the frozen base from the model's arena per run
   * rather than holding one more copy of it (as fast on CPU; on a GPU it would cross per run).
   */
  static async create(
    model: CausalLM,
    index: RetrievalIndex,
    options: TttOptions = {},
  ): Promise<TestTimeTrainer> {
    tokenizerOf(model);
    await prepareLora(model, options.lora, 0);
    const feedBase =
      model.lora !== undefined &&
      (options.session?.provider ?? providerFromEnv().provider) === 'cpu';
    const loss = await LmLoss.create(model, { session: options.session, feedBase });
    return new TestTimeTrainer(model, index, loss, options);
  }

  private row(index: number): EncodedRow | null {
    if (!this.encoded.has(index)) {
      const maxLength = this.options.maxLength ?? Math.min(512, this.model.config.maxPositions);
      const { rows } = encodeSft(tokenizerOf(this.model), [this.index.docs[index].example], {
        maxLength,
        trainOnPrompt: this.options.trainOnPrompt,
      });
      this.encoded.set(index, rows[0] ?? null);
    }
    return this.encoded.get(index)!;
  }

  private freshOptimizer(): Optimizer {
    if (this.optimizer) {
      this.optimizer.reset();
      return this.optimizer;
    }
    const { lr } = this.settings;
    const weightDecay = this.options.weightDecay ?? 0;
    const { params } = this.trained;
    this.optimizer =
      this.options.optimizer === 'sgd'
        ? new SGD(params, { lr, weightDecay })
        : new AdamW(params, { lr, weightDecay });
    return this.optimizer;
  }

  /** Retrieves the question's neighbours and trains on them; the weights stay adapted until {@link restore}. */
  async adapt(query: string, signal?: AbortSignal): Promise<Adaptation> {
    const t0 = performance.now();
    const hits = await this.index.search(query, this.settings.k, signal);
    const t1 = performance.now();
    const optimizer = this.freshOptimizer();
    const maxNorm = this.options.maxGradNorm ?? 1;
    const neighbours: Adaptation['neighbours'] = [];
    for (const hit of hits) {
      const row = this.row(hit.index);
      const losses: number[] = [];
      for (let s = 0; row && s < this.settings.steps; s++) {
        throwIfCancelled(signal);
        const r = await this.loss.forwardBackward([row]);
        const { params, grads } = this.trained;
        const norm = gradNorm(grads, params) / r.weight;
        const clip = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
        optimizer.step(grads, { gradScale: clip / r.weight });
        // The views are sets of their own: the model's set must hear of the write too.
        if (params !== this.model.params) this.model.params.markWeightsChanged((e) => e.trainable);
        losses.push(r.lossSum / r.weight);
      }
      neighbours.push({ ...hit, text: this.index.docs[hit.index].text, loss: losses });
    }
    return { neighbours, retrieveMs: t1 - t0, adaptMs: performance.now() - t1 };
  }

  /** Puts the base weights back and reports whether they are bit-identical to the snapshot. */
  restore(): boolean {
    const params = this.model.params;
    if (!this.model.lora) {
      params.restore(this.snapshot);
      return Buffer.compare(bytesOf(params.data), bytesOf(this.snapshot)) === 0;
    }
    let at = 0;
    let same = true;
    for (const [start, end] of this.ranges) {
      const saved = this.snapshot.subarray(at, at + end - start);
      params.storage.set(saved, start);
      same &&= Buffer.compare(bytesOf(params.storage.subarray(start, end)), bytesOf(saved)) === 0;
      at += end - start;
    }
    return same;
  }

  /** SHA-256 of the weights as they are now (the parameter arena's bytes). */
  weightsHash(): string {
    return hashArena(this.model.params.data);
  }

  /** Whether the weights now hash the same as when the trainer was made (checks a whole run). */
  unchanged(): boolean {
    return this.weightsHash() === this.baseHash;
  }

  /** Releases the training sessions. */
  async dispose(): Promise<void> {
    await this.loss.dispose();
  }
}

/**
 * The trainable parameters of `params` and their gradients as sets of their own, views of the
 * same arenas: the optimizer's moments, resets and norms then span the adapters (megabytes)
 * instead of the whole model (AdamW's moments alone are twice the model). The adapters are one
 * run of the layout (attachLora appends them), so the views keep their offsets and alignment,
 * and every sweep runs in the same chunks as over the whole set: the same floats.
 */
function adapterViews(params: ParamSet, grads: ParamSet): { params: ParamSet; grads: ParamSet } {
  const ranges = params.trainableRanges();
  if (ranges.length !== 1)
    throw new Error(`TTT: the adapters are ${ranges.length} runs of the parameter layout, not one`);
  const [start, end] = ranges[0];
  const specs = params.entries.filter((e) => e.offset >= start && e.offset < end);
  // `storage`: the adapters as they are, without re-reading a released base into memory.
  const view = new ParamSet(specs, params.storage.subarray(start, end));
  return {
    params: view,
    grads: new ParamSet(specs, grads.storage.subarray(start, end), view.entries),
  };
}

/** The values in `ranges` of `data`, end to end. */
function gatherRanges(data: Float32Array, ranges: readonly [number, number][]): Float32Array {
  const out = new Float32Array(ranges.reduce((n, [s, e]) => n + e - s, 0));
  let at = 0;
  for (const [s, e] of ranges) {
    out.set(data.subarray(s, e), at);
    at += e - s;
  }
  return out;
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function hashArena(a: Float32Array): string {
  return sha256(bytesOf(a));
}
