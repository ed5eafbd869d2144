import type { DepartmentLabel } from './departments.ts';
import type { Vignette } from './vignettes.ts';

/** A raw text the pipeline turns into instructions (a knowledge-base passage or a corpus document). */
export interface SourceDoc {
  /** Stable id, e.g. `kb-000123` or `corpus-0000001`. */
  id: string;
  /** The raw text. */
  text: string;
  /** Built from the knowledge base, or read from a user's corpus. */
  origin: 'kb' | 'corpus';
  /** Passage kind (`overview`, `presentation`, `differential`, `management`, `case`) or `corpus`. */
  kind: string;
  /** The condition a knowledge-base passage is about. */
  conditionId?: string;
  /** The look-alike a `differential` passage contrasts. */
  lookalikeId?: string;
  /** The patient of a `case` passage. */
  vignette?: Vignette;
  /** The topic of a corpus document (its title or focus field). */
  topic?: string;
}

/** What an instruction asks for; the offline responder and reward model key on it. */
export type Ask =
  | 'features'
  | 'risks'
  | 'management'
  | 'distinguish'
  | 'identify'
  | 'diagnosis'
  | 'differential'
  | 'mcq'
  | 'vague'
  | 'recall'
  | 'corpus'
  | 'llm';

/** The letters of a four-option question. */
export type OptionLetter = 'A' | 'B' | 'C' | 'D';

/** Structured facts behind an instruction (known to the offline generator, ignored by the LLM). */
export interface InstructionFacts {
  /** What is asked. */
  ask: Ask;
  /** The condition the instruction is about (knowledge-base instructions). */
  conditionId?: string;
  /** The patient described in the instruction, for vignette questions. */
  vignette?: Vignette;
  /** The look-alikes the instruction names or contrasts. */
  lookalikeIds?: string[];
  /** The findings the instruction shows (feature questions and vignettes). */
  shown?: string[];
  /** Options of a multiple-choice instruction. */
  options?: Record<OptionLetter, string>;
  /** The correct option. */
  answerIdx?: OptionLetter;
  /** The topic of a corpus instruction. */
  topic?: string;
  /** Corpus sentences that answer the instruction. */
  evidence?: string[];
}

/** One candidate instruction generated from a source document. */
export interface Candidate {
  /** The instruction text. */
  text: string;
  /** What the generator knows about it. */
  facts: InstructionFacts;
}

/** The paper's four instruction scores. */
export interface InstructionScores {
  /** Clarity and accuracy, 1-10 (a bare statement scores 1-2). */
  quality: number;
  /** Knowledge and analysis needed to answer, 1-10 (9-10 = complex). */
  difficulty: number;
  /** Relevance to medicine, 1-6. */
  relevance: number;
  /** Whether it leans on case details of the source text the reader cannot see. */
  mentionsDetails: boolean;
}

/** An instruction kept by the selection rule, with its label and category. */
export interface SelectedInstruction extends Candidate, DepartmentLabel {
  /** Stable id, e.g. `ins-000123`. */
  id: string;
  /** The source document's id. */
  sourceId: string;
  /** The judge's quality, difficulty and relevance scores. */
  scores: InstructionScores;
  /** `complex` when difficulty is 9-10, else `common`. */
  category: 'common' | 'complex';
}

/** A rejected or failed item, counted per stage in the synthesis report. */
export interface Rejection {
  /** The stage that rejected it. */
  stage: string;
  /** The source document's id. */
  sourceId: string;
  /** Why. */
  reason: string;
}
