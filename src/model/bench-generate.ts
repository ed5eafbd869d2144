import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../core/version.ts';
import { CausalLM } from './causal-lm.ts';
import { parameterCount } from './config.ts';
import { initParams, presetConfig, type ModelPreset } from './init.ts';

/** Settings of a generation benchmark. */
export interface GenerateBenchOptions {
  /** Model size (default demo). */
  preset?: ModelPreset;
  /** Threads for ONNX Runtime and PyTorch (default 2). */
  threads?: number;
  /** Prompt tokens before decoding (default 16). */
  promptTokens?: number;
  /** Tokens decoded per measurement (default 64). */
  newTokens?: number;
  /** Prompt tokens of the prefill measurement (default 128). */
  prefillTokens?: number;
  /** Rows of the batched decode (default 8). */
  batch?: number;
  /** Interleaved rounds, ours then PyTorch's (default 3); medians are reported. */
  rounds?: number;
  /** Skip the PyTorch reference. */
  skipTorch?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Throughput of one side. */
export interface GenerateThroughput {
  /** Prompt tokens per second in one prefill (batch 1). */
  prefill_tokens_per_s: number;
  /** Decoded tokens per second with the KV cache at batch 1. */
  decode_b1_tokens_per_s: number;
  /** Decoded tokens per second summed over the batch. */
  decode_batch_tokens_per_s: number;
}

/** Measurements per round and side; each figure keeps its best. */
const REPEATS = 3;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

/** One round of our measurements: the best of `repeats` for each figure. */
async function measureOurs(
  model: CausalLM,
  o: Required<GenerateBenchOptions>,
): Promise<GenerateThroughput & { tokens: number[] }> {
  const vocab = model.config.vocabSize;
  const prompt = Array.from({ length: o.promptTokens }, (_, i) => (i * 37) % vocab);
  const batch = Array.from({ length: o.batch }, (_, b) =>
    prompt.map((_, i) => (i * 37 + b) % vocab),
  );
  const long = Array.from({ length: o.prefillTokens }, (_, i) => (i * 91) % vocab);
  const prefillOnce = () => timed(() => model.nextTokenLogits(long));
  // Decode time runs from the first token (prefill done) to the last, as in the PyTorch script.
  const decodeOnce = async (): Promise<number> => {
    tokens.length = 0;
    let first = 0;
    for await (const t of model.generate(prompt, { maxTokens: o.newTokens, stopTokenIds: [] })) {
      if (tokens.length === 0) first = performance.now();
      tokens.push(t);
    }
    return (performance.now() - first) / 1000;
  };
  const batched = (maxTokens: number) =>
    timed(() => model.generateBatch(batch, { maxTokens, stopTokenIds: [], batchSize: o.batch }));
  const tokens: number[] = [];
  // The best of REPEATS per figure, as the PyTorch script reports.
  let prefill = Infinity;
  let decode1 = Infinity;
  let decodeBatch = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    prefill = Math.min(prefill, await prefillOnce());
    decode1 = Math.min(decode1, await decodeOnce());
    decodeBatch = Math.min(decodeBatch, (await batched(o.newTokens)) - (await batched(1)));
  }
  const steps = o.newTokens - 1;
  return {
    prefill_tokens_per_s: o.prefillTokens / prefill,
    decode_b1_tokens_per_s: steps / decode1,
    decode_batch_tokens_per_s: (steps * o.batch) / Math.max(decodeBatch, 1e-9),
    tokens,
  };
}

/** The PyTorch baseline's environment: thread counts and, on AVX-512 machines, OpenBLAS's SkylakeX kernels. */
function torchEnvironment(threads: number): { env: NodeJS.ProcessEnv; coretype?: string } {
  const avx512 =
    existsSync('/proc/cpuinfo') && /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  const coretype = avx512 ? 'SkylakeX' : undefined;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
  };
  if (coretype) env.OPENBLAS_CORETYPE = coretype;
  return { env, coretype };
}

function torchAvailable(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/**
 * Decode and prefill throughput of a preset model with the KV cache, and the same model in
 * PyTorch eager (when `/usr/bin/python3` has torch), in interleaved rounds.
 */
export async function benchGenerate(
  options: GenerateBenchOptions = {},
): Promise<Record<string, unknown>> {
  const o: Required<GenerateBenchOptions> = {
    preset: 'demo',
    threads: 2,
    promptTokens: 16,
    newTokens: 64,
    prefillTokens: 128,
    batch: 8,
    rounds: 3,
    skipTorch: false,
    log: () => undefined,
    ...options,
  };
  const config = presetConfig(o.preset);
  const model = new CausalLM(config, initParams(config, 1), undefined, {}, { threads: o.threads });
  const dir = mkdtempSync(join(tmpdir(), 'finemed-bench-gen-'));
  const withTorch = !o.skipTorch && torchAvailable();
  const ours: (GenerateThroughput & { tokens: number[] })[] = [];
  const theirs: (GenerateThroughput & {
    greedy_tokens_b1: number[];
    blas: { libraries: string[]; corename: string | null };
  })[] = [];
  const { env, coretype } = torchEnvironment(o.threads);
  try {
    await model.save(dir);
    await measureOurs(model, { ...o, newTokens: 4 });
    for (let round = 0; round < o.rounds; round++) {
      ours.push(await measureOurs(model, o));
      o.log(
        `round ${round + 1}/${o.rounds}: ours decode b1 ${ours.at(-1)!.decode_b1_tokens_per_s.toFixed(0)} tok/s`,
      );
      if (!withTorch) continue;
      const script = join(projectRoot, 'scripts', 'bench', 'torch_generate.py');
      const args = [
        script,
        '--model',
        dir,
        '--threads',
        String(o.threads),
        '--prompt',
        String(o.promptTokens),
      ];
      args.push(
        '--new',
        String(o.newTokens),
        '--prefill',
        String(o.prefillTokens),
        '--batch',
        String(o.batch),
      );
      args.push('--repeats', String(REPEATS));
      const run = spawnSync('/usr/bin/python3', args, {
        env,
        encoding: 'utf8',
        maxBuffer: 16 << 20,
      });
      if (run.status !== 0) throw new Error(`PyTorch baseline failed: ${run.stderr.slice(-2000)}`);
      theirs.push(JSON.parse(run.stdout.trim().split('\n').at(-1)!));
      o.log(
        `round ${round + 1}/${o.rounds}: torch decode b1 ${theirs.at(-1)!.decode_b1_tokens_per_s.toFixed(0)} tok/s`,
      );
    }
  } finally {
    await model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  const summary = (rows: GenerateThroughput[]): GenerateThroughput => ({
    prefill_tokens_per_s: median(rows.map((r) => r.prefill_tokens_per_s)),
    decode_b1_tokens_per_s: median(rows.map((r) => r.decode_b1_tokens_per_s)),
    decode_batch_tokens_per_s: median(rows.map((r) => r.decode_batch_tokens_per_s)),
  });
  const mine = summary(ours);
  const result: Record<string, unknown> = {
    bench: 'generate',
    preset: o.preset,
    parameters: parameterCount(config),
    threads: o.threads,
    batch: o.batch,
    prompt_tokens: o.promptTokens,
    new_tokens: o.newTokens,
    prefill_tokens: o.prefillTokens,
    rounds: o.rounds,
    load_average_1m: Number(loadavg()[0].toFixed(2)),
    ours: mine,
  };
  if (theirs.length === 0) {
    result.torch = null;
    result.torch_note = withTorch ? 'skipped' : '/usr/bin/python3 cannot import torch';
    return result;
  }
  const blas = theirs[0].blas;
  const openblas = blas.libraries.some((l) => l.includes('openblas'));
  const wellTuned =
    openblas && (!coretype || (blas.corename ?? '').toLowerCase() === coretype.toLowerCase());
  const reference = summary(theirs);
  result.torch = { ...reference, blas, openblas_coretype: coretype ?? null };
  result.same_greedy_tokens = theirs.every(
    (t) => JSON.stringify(t.greedy_tokens_b1) === JSON.stringify(ours[0].tokens),
  );
  if (!wellTuned) {
    result.ratio_note =
      "PyTorch did not run on OpenBLAS with the CPU's kernels; no ratio against a mis-configured baseline";
    return result;
  }
  result.ratio_decode_b1 = Number(
    (mine.decode_b1_tokens_per_s / reference.decode_b1_tokens_per_s).toFixed(3),
  );
  result.ratio_decode_batch = Number(
    (mine.decode_batch_tokens_per_s / reference.decode_batch_tokens_per_s).toFixed(3),
  );
  result.ratio_prefill = Number(
    (mine.prefill_tokens_per_s / reference.prefill_tokens_per_s).toFixed(3),
  );
  result.target_ratio_decode_b1 = 1.5;
  return result;
}
