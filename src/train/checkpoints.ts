import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
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
/** Checkpoint folders being written are named `.tmp-checkpoint-<step>-<pid>-<random>`. */
const TMP_PREFIX = '.tmp-checkpoint-';

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
    throw new DamagedCheckpointError(
      `holds ${bytes.length} bytes; the trainable parameters need ${size * names.length * 4}`,
      { file },
    );
  const packed = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
  );
  const buffers: Record<string, Float32Array> = {};
  let at = 0;
  for (const name of names) {
    const full = new Float32Array(params.length);
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
  // The writer's pid in the name lets a later run tell a dead writer's leftovers from a live one's.
  const tmp = join(
    outDir,
    `${TMP_PREFIX}${state.step}-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
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

/**
 * A checkpoint folder that cannot be resumed from because a part of it is missing, truncated or
 * unreadable (a write killed mid-way, a disk that filled up): an older checkpoint may still be good.
 */
export class DamagedCheckpointError extends InputError {
  override name = 'DamagedCheckpointError';
}

function damaged(error: unknown, file: string): DamagedCheckpointError {
  if (error instanceof DamagedCheckpointError) return error;
  if (error instanceof InputError)
    return new DamagedCheckpointError(error.reason, error, { cause: error });
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'missing' : (error as Error).message;
  return new DamagedCheckpointError(reason, { file }, { cause: error });
}

/** Reads a checkpoint's trainer state; a missing, malformed or inconsistent file is a {@link DamagedCheckpointError}. */
export async function readTrainerState(dir: string): Promise<TrainerState> {
  const file = join(dir, STATE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? `not valid JSON (${error.message})` : undefined;
    throw reason ? new DamagedCheckpointError(reason, { file }) : damaged(error, file);
  }
  const s = raw as TrainerState;
  const bad = (field: string, reason: string): never => {
    throw new DamagedCheckpointError(reason, { file, field });
  };
  if (typeof raw !== 'object' || raw === null) bad('', 'not a JSON object');
  if (s.version !== 1) bad('version', `unknown format version ${JSON.stringify(s.version)}`);
  if (!Number.isInteger(s.step) || s.step < 0) bad('step', 'not a step count');
  if (!Array.isArray(s.log) || s.log.length !== s.step)
    bad('log', `does not hold one record per step (${s.step} steps)`);
  if (!Array.isArray(s.evalLog)) bad('evalLog', 'not a list');
  if (typeof s.fingerprint !== 'string') bad('fingerprint', 'missing');
  if (!Array.isArray(s.optimizer?.buffers)) bad('optimizer.buffers', 'not a list');
  if (typeof s.rng !== 'object' || s.rng === null) bad('rng', 'missing');
  return s;
}

/** A training checkpoint read whole and checked against a model, not yet applied to it. */
export interface TrainingCheckpoint {
  /** The folder. */
  dir: string;
  /** Its trainer state. */
  state: TrainerState;
  /** Apply the weights (and adapters) to the model and the moments to the optimizer. */
  apply(optimizer: Optimizer): void;
}

/**
 * Reads every part of a checkpoint (trainer state, weights, adapters, optimizer moments) and
 * checks it fits `model`, without changing the model: so a damaged checkpoint
 * ({@link DamagedCheckpointError}) leaves the model as it was and an older one can be tried.
 * A checkpoint of another kind of run (LoRA vs. full) is a plain InputError.
 */
export async function readTrainingCheckpoint(
  dir: string,
  model: CausalLM,
): Promise<TrainingCheckpoint> {
  const state = await readTrainerState(dir);
  const name = PATTERN.exec(basename(dir));
  if (name && Number(name[1]) !== state.step)
    throw new DamagedCheckpointError(`says step ${state.step}, its folder name another`, {
      file: join(dir, STATE),
      field: 'step',
    });
  if (state.lora !== (model.lora !== undefined)) {
    throw new InputError(
      state.lora
        ? 'the checkpoint has LoRA adapters but this run trains all parameters'
        : 'the checkpoint trains all parameters but this run uses LoRA',
      { file: join(dir, STATE), field: 'lora' },
    );
  }
  const { params } = await readCheckpoint(dir).catch((error: unknown) => {
    throw damaged(error, dir);
  });
  const adapter = state.lora
    ? await readLoraAdapter(join(dir, ADAPTER)).catch((error: unknown) => {
        throw damaged(error, join(dir, ADAPTER));
      })
    : undefined;
  for (const [path, pair] of adapter?.weights ?? []) {
    for (const [half, tensor] of [
      ['A', pair.a],
      ['B', pair.b],
    ] as const) {
      const field = `${path}.lora_${half}.weight`;
      if (!model.params.has(field) || model.params.view(field).length !== tensor.data.length)
        throw new DamagedCheckpointError('does not match the adapters of this run', {
          file: join(dir, ADAPTER),
          field,
        });
    }
  }
  const momentsFile = join(dir, MOMENTS);
  const bytes = await readFile(momentsFile).catch((error: unknown) => {
    throw damaged(error, momentsFile);
  });
  const buffers = unpackMoments(model.params, bytes, state.optimizer.buffers, momentsFile);
  return {
    dir,
    state,
    apply(optimizer) {
      model.params.copyFrom(params);
      for (const [path, pair] of adapter?.weights ?? []) {
        model.params.view(`${path}.lora_A.weight`).set(pair.a.data);
        model.params.view(`${path}.lora_B.weight`).set(pair.b.data);
      }
      optimizer.load({ ...state.optimizer, buffers });
    },
  };
}
