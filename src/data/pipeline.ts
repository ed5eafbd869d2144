import { throwIfCancelled } from '../core/errors.ts';
import { ProgressTracker, type ProgressSink } from '../core/progress.ts';
import type { Rng } from '../core/rng.ts';
import type { DepartmentLabel } from './departments.ts';
import { categoryOf, selectInstruction, type Pick, type SelectionRule } from './selection.ts';
import type {
  Candidate,
  InstructionScores,
  Rejection,
  SelectedInstruction,
  SourceDoc,
} from './types.ts';

/** A stage failure that drops one item (counted in the report), not the run. */
export class StageError extends Error {
  override name = 'StageError';
  constructor(
    /** The stage that failed. */
    readonly stage: string,
    message: string,
  ) {
    super(message);
  }
}

/** One synthesizer behind the pipeline: offline rules or an LLM. Methods may throw {@link StageError}. */
export interface SynthesisBackend {
  /** Provenance label, e.g. `offline-kb` or `llm:<model>`. */
  readonly generator: string;
  /** Two candidate instructions for a text. */
  instructions(doc: SourceDoc): Promise<[Candidate, Candidate]>;
  /** The paper's four scores for one instruction. */
  score(doc: SourceDoc, candidate: Candidate): Promise<InstructionScores>;
  /** Department labels for an instruction and its answer. */
  classify(item: SelectedInstruction, answer: string): Promise<DepartmentLabel>;
  /** Two direct answers to a common instruction. */
  directAnswers(item: SelectedInstruction, doc: SourceDoc): Promise<[string, string]>;
  /** A reward (or judge) score for an answer; higher is better. */
  reward(item: SelectedInstruction, answer: string): Promise<number>;
  /** A `## Thought` / `## Summarization` answer to a complex instruction. */
  longAnswer(item: SelectedInstruction, doc: SourceDoc): Promise<string>;
  /** The rejected answer of a preference pair. */
  rejectedAnswer(
    item: SelectedInstruction,
    doc: SourceDoc,
  ): Promise<{ text: string; kind: 'anchored' | 'direct' }>;
  /** Backend-specific figures for the report (request counts, error rates...). */
  stats(): Record<string, unknown>;
}

/** Both candidates of a text with their scores and the selection. */
export interface ScoredPair {
  /** The source document. */
  sourceId: string;
  /** The two candidates. */
  candidates: [Candidate, Candidate];
  /** Their scores. */
  scores: [InstructionScores, InstructionScores];
  /** Which was kept (0 = neither). */
  pick: Pick;
  /** The rule that decided. */
  rule: SelectionRule;
}

/** A common instruction with its two answers, their rewards and the kept one. */
export interface CommonItem {
  /** The instruction as selected, with its scores and department. */
  instruction: SelectedInstruction;
  /** The two direct answers. */
  answers: [string, string];
  /** Their rewards. */
  rewards: [number, number];
  /** Index of the kept answer. */
  chosen: 0 | 1;
}

/** A complex instruction with its long answer and the rejected answer of its preference pair. */
export interface ComplexItem {
  /** The instruction as selected, with its scores and department. */
  instruction: SelectedInstruction;
  /** The long `## Thought` / `## Summarization` answer. */
  answer: string;
  /** The rejected answer. */
  rejected: { text: string; kind: 'anchored' | 'direct' };
}

/** Everything the pipeline produced, in source-document order. */
export interface PipelineOutput {
  /** Scored candidate pairs, one per text that got that far. */
  pairs: ScoredPair[];
  /** Common items. */
  common: CommonItem[];
  /** Complex items. */
  complex: ComplexItem[];
  /** Items dropped by a stage. */
  rejections: Rejection[];
}

/**
 * Runs the paper's stages over every text: two instructions -> scores -> selection ->
 * common/complex split -> direct answers and a reward-based choice (common) or a long answer
 * and a rejected answer (complex) -> department labels. Texts run `concurrency` at a time; each
 * draws randomness only from its own stream, so results do not depend on timing. A
 * {@link StageError} drops that text and is counted; an abort stops the run.
 */
export async function runPipeline(
  docs: SourceDoc[],
  backend: SynthesisBackend,
  opts: { rng: Rng; concurrency?: number; signal?: AbortSignal; onProgress?: ProgressSink },
): Promise<PipelineOutput> {
  const slots: {
    pair?: ScoredPair;
    common?: CommonItem;
    complex?: ComplexItem;
    rejection?: Rejection;
  }[] = docs.map(() => ({}));
  const tracker = new ProgressTracker('synth:pipeline', docs.length, 'texts/s');
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < docs.length) {
      const i = next++;
      checkSynthesisAbort(opts.signal);
      try {
        Object.assign(slots[i], await processDoc(docs[i], i, backend, opts.rng, opts.signal));
      } catch (error) {
        if (!(error instanceof StageError)) {
          next = docs.length; // the other workers stop taking texts
          throw error;
        }
        slots[i].rejection = { stage: error.stage, sourceId: docs[i].id, reason: error.message };
      }
      opts.onProgress?.(tracker.event(++done, 1));
    }
  };
  // Every worker settles before an error leaves: a cancelled LLM run still caches the replies
  // of requests already sent, and a rerun must not race them.
  const settled = await Promise.allSettled(
    Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const pick = <K extends keyof (typeof slots)[number]>(
    k: K,
  ): NonNullable<(typeof slots)[number][K]>[] =>
    slots.map((s) => s[k]).filter((x): x is NonNullable<typeof x> => x !== undefined);
  return {
    pairs: pick('pair'),
    common: pick('common'),
    complex: pick('complex'),
    rejections: pick('rejection'),
  };
}

/** The reward-based choice between two direct answers: the higher reward, the first on a tie. */
export function keptAnswer(rewards: readonly number[]): 0 | 1 {
  return rewards[1] > rewards[0] ? 1 : 0;
}

/** Throws a CancelledError ('synthesis cancelled', unless aborted with an error) once `signal` is aborted. */
export function checkSynthesisAbort(signal?: AbortSignal): void {
  throwIfCancelled(signal, 'synthesis cancelled');
}

async function processDoc(
  doc: SourceDoc,
  index: number,
  backend: SynthesisBackend,
  rng: Rng,
  signal?: AbortSignal,
): Promise<{
  pair: ScoredPair;
  common?: CommonItem;
  complex?: ComplexItem;
  rejection?: Rejection;
}> {
  const candidates = await backend.instructions(doc);
  const scores = (await Promise.all(candidates.map((c) => backend.score(doc, c)))) as [
    InstructionScores,
    InstructionScores,
  ];
  const { pick, rule } = selectInstruction(scores[0], scores[1], rng.fork(`select:${doc.id}`));
  const pair: ScoredPair = { sourceId: doc.id, candidates, scores, pick, rule };
  if (pick === 0)
    return { pair, rejection: { stage: 'selection', sourceId: doc.id, reason: rule } };
  checkSynthesisAbort(signal);
  const base = {
    ...candidates[pick - 1],
    id: `ins-${String(index + 1).padStart(6, '0')}`,
    sourceId: doc.id,
    scores: scores[pick - 1],
    category: categoryOf(scores[pick - 1]),
    department: '',
    subdepartment: null,
  };
  if (base.category === 'complex') {
    const answer = await backend.longAnswer(base, doc);
    const rejected = await backend.rejectedAnswer(base, doc);
    const instruction = { ...base, ...(await backend.classify(base, answer)) };
    return { pair, complex: { instruction, answer, rejected } };
  }
  const answers = await backend.directAnswers(base, doc);
  const rewards = (await Promise.all(answers.map((a) => backend.reward(base, a)))) as [
    number,
    number,
  ];
  const chosen = keptAnswer(rewards);
  const instruction = { ...base, ...(await backend.classify(base, answers[chosen])) };
  return { pair, common: { instruction, answers, rewards, chosen } };
}
