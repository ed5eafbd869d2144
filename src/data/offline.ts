import type { Rng } from '../core/rng.ts';
import { CAREFUL, directAnswer, QUICK } from './answers.ts';
import { DepartmentClassifier } from './classify.ts';
import { corpusAnswers, corpusCandidates, corpusLongAnswer } from './corpus-instructions.ts';
import type { DepartmentLabel } from './departments.ts';
import { kbCandidates } from './instructions.ts';
import type { KnowledgeBase } from './knowledge.ts';
import type { Lexicon } from './lexicon.ts';
import { keptAnswer, type SynthesisBackend } from './pipeline.ts';
import { anchoredAnswer, differentialOf, longReasoning, shortAnswer } from './reasoning.ts';
import { rewardAnswer } from './reward.ts';
import { scoreInstruction } from './scoring.ts';
import { sentences } from './text.ts';
import type { Candidate, InstructionScores, SelectedInstruction, SourceDoc } from './types.ts';
import type { HeldOutCombos } from './vignettes.ts';
import type { World } from './world.ts';

/** What the offline synthesizer needs. */
export interface OfflineContext {
  /** The knowledge base. */
  kb: KnowledgeBase;
  /** The run's world (conditions in play). */
  world: World;
  /** Evaluation feature combos that training must not show. */
  heldOut: HeldOutCombos;
  /** The knowledge base's vocabulary. */
  lex: Lexicon;
  /** The run's random stream; every call forks its own sub-stream by item id. */
  rng: Rng;
  /** Share of preference pairs whose rejected answer anchors on a look-alike (the rest are direct answers). */
  anchorFraction: number;
}

/**
 * The offline synthesizer: every stage of the paper by rules over the knowledge base (or over
 * a corpus text's sentences), seeded and without network.
 */
export class OfflineBackend implements SynthesisBackend {
  readonly generator = 'offline';
  private readonly classifier: DepartmentClassifier;
  private readonly answers = new Map<
    string,
    { texts: string[]; errors: boolean[]; rewards: number[] }
  >();

  constructor(private readonly x: OfflineContext) {
    this.classifier = new DepartmentClassifier(x.kb, x.lex);
  }

  private fork(stage: string, id: string): Rng {
    return this.x.rng.fork(`${stage}:${id}`);
  }

  async instructions(doc: SourceDoc): Promise<[Candidate, Candidate]> {
    const rng = this.fork('instructions', doc.id);
    return doc.origin === 'kb'
      ? kbCandidates(doc, this.x.kb, this.x.world, this.x.heldOut, rng)
      : corpusCandidates(doc, rng);
  }

  async score(_doc: SourceDoc, candidate: Candidate): Promise<InstructionScores> {
    return scoreInstruction(candidate.text, this.x.lex);
  }

  async classify(item: SelectedInstruction, answer: string): Promise<DepartmentLabel> {
    const { department, subdepartment } = this.classifier.classify(`${item.text}\n${answer}`);
    return { department, subdepartment };
  }

  async directAnswers(item: SelectedInstruction, doc: SourceDoc): Promise<[string, string]> {
    if (item.facts.ask === 'corpus') return corpusAnswers(doc, item.facts);
    const rng = this.fork('answers', item.id);
    const a = directAnswer(item.facts, this.x.kb, this.x.world, CAREFUL, rng.fork('careful'));
    const b = directAnswer(item.facts, this.x.kb, this.x.world, QUICK, rng.fork('quick'));
    this.answers.set(item.id, {
      texts: [a.text, b.text],
      errors: [a.erroneous, b.erroneous],
      rewards: [0, 0],
    });
    return [a.text, b.text];
  }

  async reward(item: SelectedInstruction, answer: string): Promise<number> {
    const r = rewardAnswer(item.text, answer, this.x.kb, this.x.lex);
    const record = this.answers.get(item.id);
    const k = record?.texts.indexOf(answer) ?? -1;
    if (record && k >= 0) record.rewards[k] = r;
    return r;
  }

  async longAnswer(item: SelectedInstruction, _doc: SourceDoc): Promise<string> {
    if (item.facts.ask === 'corpus') return corpusLongAnswer(item.text, item.facts);
    return longReasoning(differentialOf(item.facts, item.text, this.x.kb, this.x.world));
  }

  async rejectedAnswer(
    item: SelectedInstruction,
    doc: SourceDoc,
  ): Promise<{ text: string; kind: 'anchored' | 'direct' }> {
    if (item.facts.ask === 'corpus') {
      return { text: sentences(item.facts.evidence?.join(' ') || doc.text)[0], kind: 'direct' };
    }
    const d = differentialOf(item.facts, item.text, this.x.kb, this.x.world);
    const rng = this.fork('rejected', item.id);
    if (rng.random() < this.x.anchorFraction) {
      const anchored = anchoredAnswer(d, rng);
      if (anchored) return { text: anchored, kind: 'anchored' };
    }
    return { text: shortAnswer(d), kind: 'direct' };
  }

  /**
   * How often the reward model kept an answer the generator had written an error into (the
   * offline generator knows; an LLM run cannot), and how often both answers were wrong.
   */
  stats(): Record<string, unknown> {
    let kept = 0;
    let keptErroneous = 0;
    let bothErroneous = 0;
    let oneErroneous = 0;
    for (const { errors, rewards } of this.answers.values()) {
      kept++;
      if (errors[keptAnswer(rewards)]) keptErroneous++;
      if (errors[0] && errors[1]) bothErroneous++;
      else if (errors[0] || errors[1]) oneErroneous++;
    }
    return { commonAnswerPairs: kept, keptErroneous, oneErroneous, bothErroneous };
  }
}
