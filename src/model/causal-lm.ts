import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../core/errors.ts';
import type { ParamSet, SessionOptions } from '../engine/index.ts';
import { readCheckpoint, writeCheckpoint, type SaveOptions } from './checkpoint.ts';
import type { ModelConfig } from './config.ts';
import type { DecoderOptions } from './decoder.ts';
import type { LoraGraphSpec } from './param-layout.ts';
import { floatData } from './feeds.ts';
import {
  generateBatch,
  generateTokens,
  type BatchGeneration,
  type GenerateOptions,
  type GenerationResult,
} from './generation.ts';
import { runForward } from './forward.ts';
import { GraphCache, type CompiledGraph, type InferenceOptions } from './graphs.ts';
import type { LoraConfig } from './lora-io.ts';
import { scoreSequences, type ScoredSequence, type SequenceLogprob } from './prefix-scoring.ts';
import { TextTokenizer } from './tokenizer.ts';

export type { ScoredSequence, SequenceLogprob } from './prefix-scoring.ts';

/** Options for loading a model. */
export interface LoadModelOptions {
  /** ONNX Runtime session settings (threads, execution provider). */
  session?: SessionOptions;
  /** How the inference graph trades rounding for speed (default: by model size). */
  inference?: InferenceOptions;
}

/** LoRA adapters attached to a model (see lora.ts). */
export interface AttachedLora {
  /** The adapter's hyper-parameters. */
  config: LoraConfig;
  /** What the graphs add. */
  spec: LoraGraphSpec;
}

/**
 * A Llama/Qwen2 causal language model: configuration, tokenizer, parameters in one arena
 * (Hugging Face names), and ONNX Runtime graphs for logits, scoring and generation.
 */
export class CausalLM {
  /** Attached LoRA adapters, if any (base weights are then frozen). */
  lora?: AttachedLora;
  private readonly graphs: GraphCache;

  constructor(
    /** The validated configuration. */
    readonly config: ModelConfig,
    /** Every parameter, by Hugging Face name (replaced when LoRA adapters are attached). */
    public params: ParamSet,
    /** The tokenizer, when the folder has one. */
    readonly tokenizer?: TextTokenizer,
    /** The `config.json` the model was loaded from (unknown fields are saved back). */
    readonly rawConfig: Record<string, unknown> = {},
    sessionOptions: SessionOptions = {},
    inference: InferenceOptions = {},
  ) {
    this.graphs = new GraphCache(
      config,
      () => this.decoderOptions(),
      () => this.params,
      sessionOptions,
      inference,
    );
  }

  /** Loads a Hugging Face model folder (config.json, safetensors weights, optional tokenizer). */
  static async load(dir: string, options: LoadModelOptions = {}): Promise<CausalLM> {
    const { config, rawConfig, params } = await readCheckpoint(dir);
    const tokenizer = existsSync(join(dir, 'tokenizer.json'))
      ? await TextTokenizer.load(dir)
      : undefined;
    if (tokenizer && tokenizer.vocabSize > config.vocabSize) {
      throw new InputError(
        `the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${config.vocabSize} embedding rows`,
        { file: join(dir, 'config.json'), field: 'vocab_size' },
      );
    }
    return new CausalLM(config, params, tokenizer, rawConfig, options.session, options.inference);
  }

  /** Writes the model as a Hugging Face folder (config, weights, tokenizer); LoRA adapters are not included. */
  async save(dir: string, options: Omit<SaveOptions, 'rawConfig'> = {}): Promise<void> {
    await writeCheckpoint(dir, this.config, this.params, { ...options, rawConfig: this.rawConfig });
    await this.tokenizer?.save(dir);
  }

  /** How the training layer must build this model's forward so it matches the parameters (frozen base with LoRA). */
  decoderOptions(): DecoderOptions {
    return this.lora ? { trainableBase: false, lora: this.lora.spec } : { trainableBase: true };
  }

  /** The compiled inference graph (compiled on first use; see `runForward`). */
  compiled(): Promise<CompiledGraph> {
    return this.graphs.get();
  }

  /**
   * Drops the compiled graph (needed after the parameter layout changes, e.g. LoRA attached;
   * changed weight values are noticed without it).
   */
  async resetGraphs(): Promise<void> {
    await this.graphs.clear();
  }

  /** Releases the ONNX Runtime sessions. */
  async dispose(): Promise<void> {
    await this.graphs.clear();
  }

  /** Token ids of EOS (from the config and the tokenizer). */
  stopTokenIds(): number[] {
    const ids = new Set(this.config.eosTokenIds);
    if (this.tokenizer?.eosTokenId !== undefined) ids.add(this.tokenizer.eosTokenId);
    return [...ids];
  }

  /** Throws an InputError when `length` tokens do not fit the context. */
  checkContext(length: number, what = 'prompt'): void {
    if (length > this.config.maxPositions) {
      throw new InputError(
        `${what} has ${length} tokens; the model's context is ${this.config.maxPositions} (max_position_embeddings)`,
        { field: what },
      );
    }
  }

  /** Logits `[B, T, V]` of equal-length rows of token ids (no padding). */
  async logits(rows: number[][]): Promise<{ data: Float32Array; dims: number[] }> {
    const width = rows[0]?.length ?? 0;
    if (width === 0 || rows.some((r) => r.length !== width))
      throw new RangeError('logits: rows must be non-empty and of equal length');
    this.checkContext(width, 'ids');
    this.checkIds(rows.flat(), 'ids');
    const all = Array.from({ length: rows.length * width }, (_, i) => i);
    const out = await runForward(this, { ids: rows, headRows: all }, ['logits']);
    return { data: floatData(out.logits), dims: [rows.length, width, this.config.vocabSize] };
  }

  /** The logits `[V]` of the token after `ids`: the head runs at the last position only. */
  async nextTokenLogits(ids: number[]): Promise<Float32Array> {
    if (ids.length === 0) throw new RangeError('nextTokenLogits: ids must be non-empty');
    this.checkContext(ids.length, 'ids');
    this.checkIds(ids, 'ids');
    const out = await runForward(this, { ids: [ids], headRows: [ids.length - 1] }, ['logits']);
    return floatData(out.logits);
  }

  /**
   * Log-probabilities of continuations given prompts (see {@link scoreSequences}: a prompt
   * shared by several items runs once). Used for DPO reference log-probs and multiple-choice scoring.
   */
  async sequenceLogprobs(
    items: ScoredSequence[],
    options: { signal?: AbortSignal } = {},
  ): Promise<SequenceLogprob[]> {
    items.forEach((item, i) => {
      if (item.prompt.length === 0)
        throw new InputError('prompt must have at least one token', {
          field: `items[${i}].prompt`,
        });
      if (item.completion.length === 0)
        throw new InputError('completion must have at least one token', {
          field: `items[${i}].completion`,
        });
      this.checkContext(item.prompt.length + item.completion.length - 1, `items[${i}]`);
      this.checkIds([...item.prompt, ...item.completion], `items[${i}]`);
    });
    return scoreSequences(this, items, options);
  }

  /** Streams generated token ids (EOS is not yielded); the return value says why it stopped. */
  generate(
    promptIds: number[],
    options: GenerateOptions = {},
  ): AsyncGenerator<number, GenerationResult> {
    return generateTokens(this, promptIds, options);
  }

  /** Generates from several prompts at once (left padding, one KV cache); greedy unless sampling is asked. */
  generateBatch(prompts: number[][], options: GenerateOptions = {}): Promise<BatchGeneration[]> {
    return generateBatch(this, prompts, options);
  }

  private checkIds(ids: number[], field: string): void {
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= this.config.vocabSize);
    if (bad !== undefined)
      throw new InputError(
        `token id ${bad} is outside the vocabulary [0, ${this.config.vocabSize})`,
        { field },
      );
  }
}

/** Loads a Hugging Face model folder (see {@link CausalLM.load}). */
export function loadModel(dir: string, options: LoadModelOptions = {}): Promise<CausalLM> {
  return CausalLM.load(dir, options);
}
