import { AdamW, type SessionOptions } from '../engine/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import type { EncodedRow } from './encode.ts';
import { LmLoss } from './lm-loss.ts';
import type { IndexDocument, RetrievalIndex } from './retrieve/index.ts';
import { prepareLora, tokenizerOf } from './stage.ts';
import { TestTimeTrainer } from './ttt.ts';

/** The adapter the issue-16 figures use: rank 16 on every attention and MLP projection. */
export const BENCH_LORA = {
  r: 16,
  targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};

/** The largest resident set so far, in MB (the process's high-water mark, not the current). */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Seeded token ids in `[0, vocab)` (a benchmark's contents do not change its speed). */
function tokens(n: number, vocab: number, seed: number): number[] {
  let x = seed * 2654435761 + 1;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % vocab;
  });
}

/** What {@link benchLoraTrain} times. */
export interface LoraTrainBenchOptions {
  /** Rows per step (default 2). */
  batch?: number;
  /** Input tokens per row (default 256). */
  seqLen?: number;
  /** Timed steps (default 3), after `warmup` untimed ones (default 1: compiles the step). */
  steps?: number;
  /** Untimed first steps. */
  warmup?: number;
  /** ONNX Runtime settings (fix `threads` to compare with PyTorch). */
  session?: SessionOptions;
  /** Vocabulary chunk of the output head (default: the loss's). */
  headChunk?: number;
}

/** LoRA training speed: input tokens per second, median step time and the RSS high-water mark. */
export interface LoraTrainBench {
  /** `batch * seqLen / median step seconds`. */
  tokens_per_s: number;
  /** Median milliseconds per step (forward, backward, AdamW on the adapters). */
  step_ms: number;
  /** Timed steps. */
  steps: number;
  /** Peak resident memory of the process after the run, MB. */
  peak_rss_mb: number;
}

/**
 * Times LoRA SFT steps as the issue-16 figure defines them: {@link BENCH_LORA} attached (unless
 * the model has an adapter already), `batch` rows of `seqLen` tokens with loss on every
 * position, one forward+backward and one AdamW update on the adapters per step.
 */
export async function benchLoraTrain(
  model: CausalLM,
  o: LoraTrainBenchOptions = {},
): Promise<LoraTrainBench> {
  const { batch = 2, seqLen = 256, steps = 3, warmup = 1 } = o;
  await prepareLora(model, BENCH_LORA, 0);
  const loss = await LmLoss.create(model, { session: o.session, headChunk: o.headChunk });
  try {
    const optimizer = new AdamW(model.params, { lr: 1e-4, weightDecay: 0 });
    const rows: EncodedRow[] = Array.from({ length: batch }, (_, r) => ({
      ids: tokens(seqLen + 1, model.config.vocabSize, r + 1),
      mask: new Uint8Array(seqLen + 1).fill(1),
      source: { file: 'bench', line: r + 1 },
    }));
    const times: number[] = [];
    for (let s = 0; s < warmup + steps; s++) {
      const t0 = performance.now();
      const r = await loss.forwardBackward(rows);
      optimizer.step(loss.step.grads, { gradScale: 1 / r.weight });
      if (s >= warmup) times.push(performance.now() - t0);
    }
    const stepMs = median(times);
    return {
      tokens_per_s: (batch * seqLen) / (stepMs / 1000),
      step_ms: stepMs,
      steps,
      peak_rss_mb: peakRssMb(),
    };
  } finally {
    await loss.dispose();
  }
}

/** What {@link benchTttLora} times. */
export interface TttLoraBenchOptions {
  /** Question length in tokens (default 300). */
  questionTokens?: number;
  /** Neighbour length in tokens, prompt and answer (default 300). */
  neighbourTokens?: number;
  /** Options scored per question (default 4, one token each). */
  options?: number;
  /** Questions timed (default 3), after `warmup` untimed ones (default 1). */
  questions?: number;
  /** Untimed first questions (sessions compile). */
  warmup?: number;
  /** ONNX Runtime settings. */
  session?: SessionOptions;
}

/** TTT speed with LoRA, per question. */
export interface TttLoraBench {
  /** Median seconds per question: adapt (one step on one neighbour) + score the options + restore. */
  seconds_per_question: number;
  /** Median milliseconds of each phase. */
  median_ms: { adapt: number; answer: number; restore: number };
  /** Whether the adapters were bit-identical to their initial values after every restore. */
  restored: boolean;
  /** Peak resident memory of the process after the run, MB. */
  peak_rss_mb: number;
}

/** Text of about `n` tokens under the model's tokenizer (a repeated clinical sentence). */
function textOfTokens(model: CausalLM, n: number): string {
  const sentence =
    'A 54-year-old man presents with chest pain radiating to the left arm and diaphoresis. ';
  const per = Math.max(1, tokenizerOf(model).encode(sentence).length);
  return sentence.repeat(Math.max(1, Math.round(n / per)));
}

/**
 * Times TTT per question as the issue-16 figure defines it: k=1, one AdamW step on a
 * `neighbourTokens` neighbour with {@link BENCH_LORA}, then `options` one-token options scored
 * after a `questionTokens` question, then the adapters restored.
 */
export async function benchTttLora(
  model: CausalLM,
  o: TttLoraBenchOptions = {},
): Promise<TttLoraBench> {
  const { questionTokens = 300, neighbourTokens = 300, options = 4, questions = 3 } = o;
  const warmup = o.warmup ?? 1;
  const half = textOfTokens(model, neighbourTokens / 2);
  const doc: IndexDocument = {
    id: 'neighbour',
    text: half,
    example: {
      kind: 'messages',
      messages: [
        { role: 'user', content: half },
        { role: 'assistant', content: half },
      ],
      source: { file: 'bench', line: 1 },
    },
  };
  const index: RetrievalIndex = {
    kind: 'bm25',
    docs: [doc],
    search: async () => [{ index: 0, id: doc.id, score: 1 }],
  };
  const ttt = await TestTimeTrainer.create(model, index, {
    k: 1,
    steps: 1,
    lr: 1e-5,
    lora: BENCH_LORA,
    maxLength: neighbourTokens + 64,
    session: o.session,
  });
  const tokenizer = tokenizerOf(model);
  const prompt = tokenizer.encode(textOfTokens(model, questionTokens));
  const choices = ['A', 'B', 'C', 'D', 'E', 'F'].slice(0, options);
  const items = choices.map((c) => ({ prompt, completion: tokenizer.encode(` ${c}`).slice(0, 1) }));
  const phases = { adapt: [] as number[], answer: [] as number[], restore: [] as number[] };
  let restored = true;
  try {
    for (let q = 0; q < warmup + questions; q++) {
      const t0 = performance.now();
      await ttt.adapt('question');
      const t1 = performance.now();
      await model.sequenceLogprobs(items);
      const t2 = performance.now();
      restored &&= ttt.restore();
      const t3 = performance.now();
      if (q < warmup) continue;
      phases.adapt.push(t1 - t0);
      phases.answer.push(t2 - t1);
      phases.restore.push(t3 - t2);
    }
  } finally {
    await ttt.dispose();
  }
  const totals = phases.adapt.map((a, i) => a + phases.answer[i] + phases.restore[i]);
  return {
    seconds_per_question: median(totals) / 1000,
    median_ms: {
      adapt: median(phases.adapt),
      answer: median(phases.answer),
      restore: median(phases.restore),
    },
    restored,
    peak_rss_mb: peakRssMb(),
  };
}
