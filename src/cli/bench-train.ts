import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../core/version.ts';
import type { TrainBenchConfig, TrainBenchRound } from '../engine/bench-train.ts';

/** The Python that has Debian's torch. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** One PyTorch round as scripts/bench/torch_train.py prints it. */
export interface TorchRound extends TrainBenchRound {
  /** Torch version. */
  torch: string;
  /** Intra-op threads torch used. */
  threads: number;
  /** The BLAS torch loaded. */
  blas: {
    libraries: string[];
    corename: string | null;
    threads: number | null;
    config: string | null;
  };
  /** Peak resident memory, MB. */
  peakRssMb: number;
}

/** An engine round run in its own process. */
export interface EngineRound extends TrainBenchRound {
  /** Peak resident memory of the round's process, MB. */
  peakRssMb: number;
  /** The fp32 matmul peak measured in the same process first (contention only lowers it). */
  matmulPeakGflops: number;
}

/** Whether `/usr/bin/python3 -c 'import torch'` works here. */
export function torchAvailable(): boolean {
  return spawnSync(SYSTEM_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/**
 * The OpenBLAS core type a fair baseline needs on this CPU: Debian's OpenBLAS does not know
 * every CPU model and falls back to old kernels, which made PyTorch 3.5x slower here.
 */
export function expectedOpenblasCore(): string {
  const flags = readFileSync('/proc/cpuinfo', 'utf8');
  if (/\bavx512f\b/.test(flags)) return 'SkylakeX';
  if (/\bavx2\b/.test(flags)) return 'Haswell';
  return 'Sandybridge';
}

/** Environment for the torch baseline: the thread count and the OpenBLAS core type. */
export function torchEnv(threads: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    OPENBLAS_CORETYPE: expectedOpenblasCore(),
  };
}

/** Why a torch round is not a fair baseline, or undefined when it is. */
export function baselineProblem(
  round: Pick<TorchRound, 'blas' | 'threads'>,
  threads: number,
): string | undefined {
  const expected = expectedOpenblasCore();
  if (!round.blas.libraries.some((l) => l.includes('openblas'))) {
    return `torch is not using OpenBLAS (loaded: ${round.blas.libraries.join(', ') || 'none'}); install libopenblas0-openmp`;
  }
  if (round.blas.corename !== expected) {
    return `OpenBLAS runs '${round.blas.corename}' kernels, expected '${expected}' (OPENBLAS_CORETYPE)`;
  }
  if (round.threads !== threads) return `torch used ${round.threads} threads, expected ${threads}`;
  return undefined;
}

/** Runs a process and parses the JSON object on the last line of its output. */
export function runJson<T>(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, signal, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0)
        return reject(
          new Error(`${command} ${args.join(' ')} exited ${code}: ${err.trim().slice(-500)}`),
        );
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${command}: no JSON on the last line of output: ${last.slice(0, 200)}`));
      }
    });
  });
}

/** Runs one engine round in a fresh process (`finemed bench train --round`). */
export function engineRound(
  c: TrainBenchConfig,
  o: { threads: number; steps: number; warmup: number },
  signal?: AbortSignal,
): Promise<EngineRound> {
  const args = [
    join(projectRoot, 'bin', 'finemed.js'),
    'bench',
    'train',
    '--round',
    '--config',
    c.name,
    '--threads',
    String(o.threads),
    '--steps',
    String(o.steps),
    '--warmup',
    String(o.warmup),
    '--json',
  ];
  return runJson<EngineRound>(process.execPath, args, process.env, signal);
}

/** Runs one PyTorch round of the same step in a fresh process. */
export function torchRound(
  c: TrainBenchConfig,
  o: { threads: number; steps: number; warmup: number },
  signal?: AbortSignal,
): Promise<TorchRound> {
  const script = join(projectRoot, 'scripts', 'bench', 'torch_train.py');
  const args = [
    script,
    '--vocab',
    c.vocab,
    '--d-model',
    c.dModel,
    '--layers',
    c.layers,
    '--heads',
    c.heads,
    '--seq',
    c.seq,
    '--batch',
    c.batch,
    '--threads',
    o.threads,
    '--steps',
    o.steps,
    '--warmup',
    o.warmup,
  ].map(String);
  return runJson<TorchRound>(SYSTEM_PYTHON, args, torchEnv(o.threads), signal);
}

/** The 1-minute load average, rounded, for reports (the machine is shared). */
export function load1(): number {
  return Math.round(loadavg()[0] * 100) / 100;
}
