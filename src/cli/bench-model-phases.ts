import { AdamW, gradNorm } from '../engine/index.ts';
import { loadModel, type CausalLM } from '../model/causal-lm.ts';
import { LmLoss } from '../train/lm-loss.ts';
import { buildIndex, parseIndexRecord } from '../train/retrieve/index.ts';
import { prepareLora, tokenizerOf } from '../train/stage.ts';
import { TestTimeTrainer } from '../train/ttt.ts';

/** The phases of `finemed bench model`, each run in a process of its own. */
export const MODEL_PHASES = ['load', 'score', 'options', 'lora', 'ttt'] as const;

/** One phase. */
export type ModelPhase = (typeof MODEL_PHASES)[number];

/** What one phase's process prints. */
export interface PhaseResult {
  /** The phase. */
  phase: ModelPhase;
  /** Its figure, under the report's key (e.g. `score_ms_512`). */
  key: string;
  /** The figure: a median over the timed repeats. */
  value: number;
  /** Peak resident memory of the process, MB (loading included). */
  peakRssMb: number;
  /** Parameters of the model as loaded (adapters not counted). */
  parameters: number;
  /**
   * CPU seconds per wall second over the phase (ONNX Runtime's threads included): about the
   * thread count on an idle machine, lower when other processes took the cores.
   */
  cpuPerWall: number;
}

/** How a phase runs. */
export interface PhaseOptions {
  /** ONNX Runtime intra-op threads. */
  threads: number;
  /** Timed repeats after one untimed warm-up (sessions compile, arenas grow). */
  repeats: number;
}

/** LoRA rank of the training and TTT phases (the setting; the PyTorch script's default). */
const RANK = 16;

/**
 * Token ids the PyTorch script (`ids_of`) draws too: a fixed stride through the first 4096
 * ids, so both sides score the same sequences without a tokenizer round trip.
 */
export function benchIds(n: number, vocab: number, salt = 0): number[] {
  const v = Math.min(vocab, 4096);
  return Array.from({ length: n }, (_, i) => (i * 37 + 11 + salt) % v);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** Median seconds of `repeats` runs after one untimed run. */
async function timed(repeats: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    await run();
    times.push((performance.now() - start) / 1000);
  }
  return median(times);
}

/** Runs one phase on the model folder `dir` in this process. */
export async function runModelPhase(
  dir: string,
  phase: ModelPhase,
  o: PhaseOptions,
): Promise<PhaseResult> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const model = await loadModel(dir, { session: { threads: o.threads } });
  const loadSeconds = (performance.now() - start) / 1000;
  const parameters = model.params.count;
  try {
    const phaseStart = phase === 'load' ? start : performance.now();
    const cpuFrom = phase === 'load' ? cpuStart : process.cpuUsage();
    const [key, value] =
      phase === 'load' ? ['load_seconds', loadSeconds] : await PHASES[phase](model, o);
    const cpu = process.cpuUsage(cpuFrom);
    const cpuPerWall = (cpu.user + cpu.system) / 1000 / (performance.now() - phaseStart);
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    return { phase, key, value, peakRssMb, parameters, cpuPerWall };
  } finally {
    await model.dispose();
  }
}

type PhaseRun = (model: CausalLM, o: PhaseOptions) => Promise<[string, number]>;

const PHASES: Record<Exclude<ModelPhase, 'load'>, PhaseRun> = {
  // One token's log-probability after a 511-token prompt.
  async score(model, o) {
    const prompt = benchIds(511, model.config.vocabSize);
    const s = await timed(o.repeats, () => model.sequenceLogprobs([{ prompt, completion: [7] }]));
    return ['score_ms_512', s * 1000];
  },
  // Four one-token options after one 511-token prompt: the shared prefix runs once.
  async options(model, o) {
    const prompt = benchIds(511, model.config.vocabSize);
    const items = [5, 6, 7, 8].map((t) => ({ prompt, completion: [t] }));
    const s = await timed(o.repeats, () => model.sequenceLogprobs(items));
    return ['options_ms_512x4', s * 1000];
  },
  // Rank-16 LoRA on every projection, batch 2 x 256, loss on every position, AdamW on the adapters.
  async lora(model, o) {
    await prepareLora(model, { r: RANK }, 0);
    const loss = await LmLoss.create(model, { session: { threads: o.threads } });
    const optimizer = new AdamW(model.params, { lr: 1e-4, weightDecay: 0.01 });
    const rows = [1, 2].map((salt) => {
      const ids = benchIds(257, model.config.vocabSize, salt);
      return {
        ids,
        mask: new Uint8Array(ids.length).fill(1),
        source: { file: 'bench', line: salt },
      };
    });
    let tokens = 0;
    try {
      const s = await timed(o.repeats, async () => {
        const r = await loss.forwardBackward(rows);
        tokens = r.tokens;
        // As the trainer steps: clip to norm 1, then the update.
        const norm = gradNorm(loss.step.grads, model.params) / r.weight;
        optimizer.step(loss.step.grads, { gradScale: Math.min(1, 1 / (norm + 1e-6)) / r.weight });
      });
      return ['lora_train_tokens_per_s', tokens / s];
    } finally {
      await loss.dispose();
    }
  },
  // TTT with LoRA: one step on a ~300-token neighbour, four options after a ~300-token question, restore.
  async ttt(model, o) {
    const tokenizer = tokenizerOf(model);
    const count = (s: string) => tokenizer.encode(s).length;
    const question = fitTokens((w) => medicalText(w, 1), 300, count);
    const neighbourPrompt = fitTokens((w) => medicalText(w, 2), 100, count);
    const neighbourAnswer = fitTokens((w) => medicalText(w, 3), 200, count);
    const index = await buildIndex([
      parseIndexRecord(
        { prompt: `${neighbourPrompt} ${question.slice(0, 80)}`, chosen: neighbourAnswer },
        { file: 'bench', line: 1 },
      ),
    ]);
    const ttt = await TestTimeTrainer.create(model, index, {
      k: 1,
      steps: 1,
      lr: 1e-5,
      lora: { r: RANK },
      session: { threads: o.threads },
    });
    const prompt = tokenizer.encode(question);
    const items = ['aspirin therapy', 'beta blockers', 'surgical referral', 'watchful waiting'].map(
      (option) => ({ prompt, completion: tokenizer.encode(` ${option}`) }),
    );
    try {
      const s = await timed(o.repeats, async () => {
        const adaptation = await ttt.adapt(question);
        if (adaptation.neighbours.length !== 1)
          throw new Error('bench ttt: no neighbour retrieved');
        await model.sequenceLogprobs(items);
        if (!ttt.restore()) throw new Error('bench ttt: the weights did not restore exactly');
      });
      return ['ttt_lora_seconds_per_question', s];
    } finally {
      await ttt.dispose();
    }
  },
};

const WORDS = (
  'patient presents with chest pain fever cough dyspnea history of hypertension diabetes ' +
  'examination reveals tachycardia blood pressure elevated laboratory results show anemia ' +
  'renal function impaired the most likely diagnosis treatment management next step'
).split(' ');

/** `words` words of clinical-sounding text, varied by `salt`. */
function medicalText(words: number, salt: number): string {
  return Array.from({ length: words }, (_, i) => WORDS[(i * 7 + salt) % WORDS.length]).join(' ');
}

/** The shortest text `make(words)` with at least `tokens` tokens (token counts grow with words). */
function fitTokens(
  make: (words: number) => string,
  tokens: number,
  count: (s: string) => number,
): string {
  let high = 16;
  while (count(make(high)) < tokens) high *= 2;
  let low = 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (count(make(mid)) >= tokens) high = mid;
    else low = mid + 1;
  }
  return make(low);
}
