import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.ts';
import { InputError } from '../core/errors.ts';
import type { RngState } from '../core/rng.ts';
import type { Optimizer, OptimizerState, ParamSet } from '../engine/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { readCheckpoint } from '../model/checkpoint.ts';
import { saveLora } from '../model/lora.ts';
import { readLoraAdapter } from '../model/lora-io.ts';

/** One optimizer step as logged: the loss curve is a list of these. */
export interface StepRecord {
  /** 1-based optimizer step. */
  step: number;
  /** Mean loss over the step's units. */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Input tokens in the step. */
  tokens: number;
  /** Epochs completed, fractional. */
  epoch: number;
  /** Stage metrics (means over the step's units). */
  metrics: Record<string, number>;
}

/** One held-out evaluation. */
export interface EvalRecord {
  /** The optimizer step it followed (0 = before training). */
  step: number;
  /** Mean held-out loss. */
  loss: number;
  /** Stage metrics on the held-out set. */
  metrics: Record<string, number>;
}

/** Everything besides weights and optimizer moments that a resumed run needs. */
export interface TrainerState {
  /** Format version of this file. */
  version: 1;
  /** The stage that wrote it. */
  stage: string;
  /** Optimizer steps completed. */
  step: number;
  /** Planned optimizer steps. */
  totalSteps: number;
  /** Optimizer steps per epoch. */
  stepsPerEpoch: number;
  /** Where the next step's data starts: epoch and unit offset in that epoch's order. */
  data: { epoch: number; offset: number; units: number };
  /** The trainer's random generator. */
  rng: RngState;
  /** Hash of everything that must match for a resume to continue the same run. */
  fingerprint: string;
  /** Whether the weights include LoRA adapters. */
  lora: boolean;
  /** The optimizer's kind, step count and hyper-parameters (moments are in `optimizer.bin`). */
  optimizer: Omit<OptimizerState, 'buffers'> & { buffers: string[] };
  /** The loss curve so far. */
  log: StepRecord[];
  /** Held-out evaluations so far. */
  evalLog: EvalRecord[];
}

const STATE = 'trainer_state.json';
const MOMENTS = 'optimizer.bin';
const ADAPTER = 'adapter';
const PATTERN = /^checkpoint-(\d+)$/;

/** Checkpoint folders in `outDir`, oldest first. */
export async function listCheckpoints(outDir: string): Promise<string[]> {
  const names = await readdir(outDir).catch(() => [] as string[]);
  return names
    .filter((n) => PATTERN.test(n))
    .sort((a, b) => Number(PATTERN.exec(a)![1]) - Number(PATTERN.exec(b)![1]))
    .map((n) => join(outDir, n));
}

/** Concatenates the trainable ranges of each moment buffer (frozen ranges stay zero). */
function packMoments(params: ParamSet, state: OptimizerState): Uint8Array {
  const ranges = params.trainableRanges();
  const size = ranges.reduce((s, [a, b]) => s + b - a, 0);
  const names = Object.keys(state.buffers);
  const out = new Float32Array(size * names.length);
  let at = 0;
  for (const name of names) {
    for (const [a, b] of ranges) {
      out.set(state.buffers[name].subarray(a, b), at);
      at += b - a;
    }
  }
  return new Uint8Array(out.buffer);
}

function unpackMoments(params: ParamSet, bytes: Buffer, names: string[], file: string) {
  const ranges = params.trainableRanges();
  const size = ranges.reduce((s, [a, b]) => s + b - a, 0);
  if (bytes.length !== size * names.length * 4)
    throw new InputError('optimizer moments do not match the trainable parameters', { file });
  const packed = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
  );
  const buffers: Record<string, Float32Array> = {};
  let at = 0;
  for (const name of names) {
    const full = new Float32Array(params.data.length);
    for (const [a, b] of ranges) {
      full.set(packed.subarray(at, at + b - a), a);
      at += b - a;
    }
    buffers[name] = full;
  }
  return buffers;
}

/**
 * Writes `outDir/checkpoint-<step>/` atomically: built in a temporary folder (model weights in
 * Hugging Face layout, LoRA adapters in PEFT layout under `adapter/`, optimizer moments,
 * trainer state) and renamed into place; older checkpoints beyond the last `keep` are deleted.
 */
export async function saveCheckpoint(
  outDir: string,
  model: CausalLM,
  optimizer: Optimizer,
  state: Omit<TrainerState, 'optimizer' | 'version' | 'lora'>,
  keep: number,
): Promise<string> {
  const final = join(outDir, `checkpoint-${state.step}`);
  const tmp = join(outDir, `.tmp-checkpoint-${state.step}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    await model.save(tmp);
    if (model.lora) await saveLora(model, join(tmp, ADAPTER));
    const moments = optimizer.state();
    await writeFileAtomic(join(tmp, MOMENTS), packMoments(model.params, moments));
    const full: TrainerState = {
      version: 1,
      ...state,
      lora: model.lora !== undefined,
      optimizer: {
        kind: moments.kind,
        step: moments.step,
        config: moments.config,
        buffers: Object.keys(moments.buffers),
      },
    };
    await writeJsonAtomic(join(tmp, STATE), full);
    if (existsSync(final)) await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  const all = await listCheckpoints(outDir);
  for (const old of all.slice(0, Math.max(0, all.length - Math.max(1, keep))))
    await rm(old, { recursive: true, force: true });
  return final;
}

/** Reads a checkpoint's trainer state. */
export async function readTrainerState(dir: string): Promise<TrainerState> {
  const file = join(dir, STATE);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as TrainerState;
  } catch (error) {
    throw new InputError(`not a training checkpoint (${(error as Error).message})`, { file });
  }
}

/**
 * Restores weights (and adapters) and optimizer moments from a checkpoint into a model whose
 * parameter layout matches the run that wrote it; returns the trainer state.
 */
export async function restoreCheckpoint(
  dir: string,
  model: CausalLM,
  optimizer: Optimizer,
): Promise<TrainerState> {
  const state = await readTrainerState(dir);
  if (state.lora !== (model.lora !== undefined)) {
    throw new InputError(
      state.lora
        ? 'the checkpoint has LoRA adapters but this run trains all parameters'
        : 'the checkpoint trains all parameters but this run uses LoRA',
      { file: join(dir, STATE), field: 'lora' },
    );
  }
  const { params } = await readCheckpoint(dir);
  model.params.copyFrom(params);
  if (state.lora) {
    const { weights } = await readLoraAdapter(join(dir, ADAPTER));
    for (const [path, pair] of weights) {
      model.params.view(`${path}.lora_A.weight`).set(pair.a.data);
      model.params.view(`${path}.lora_B.weight`).set(pair.b.data);
    }
  }
  const bytes = await readFile(join(dir, MOMENTS));
  optimizer.load({
    ...state.optimizer,
    buffers: unpackMoments(model.params, bytes, state.optimizer.buffers, join(dir, MOMENTS)),
  });
  return state;
}
