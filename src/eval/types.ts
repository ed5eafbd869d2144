/** The benchmark file formats the loaders read. */
export type BenchmarkFormat = 'medqa' | 'medmcqa' | 'pubmedqa' | 'mmlu' | 'mmlupro';

/** Every {@link BenchmarkFormat}, in the order help texts list them. */
export const BENCHMARK_FORMATS: readonly BenchmarkFormat[] = [
  'medqa',
  'medmcqa',
  'pubmedqa',
  'mmlu',
  'mmlupro',
];

/** Where an item came from, so a report can point at the exact record. */
export interface ItemSource {
  /** The benchmark file. */
  file: string;
  /** 1-based line of the record (JSONL rows, CSV records). */
  line?: number;
  /** The record's key when the file is keyed (PubMedQA PMIDs) or an array index (`[12]`). */
  key?: string;
}

/** One multiple-choice question, the same shape whatever file format it came from. */
export interface EvalItem {
  /** Unique within the benchmark file; paired comparisons match items by it. */
  id: string;
  /** The question text as the file gives it. */
  question: string;
  /** Answer options in file order; option `i` is labelled with letter `i` (A, B, ...). */
  options: string[];
  /** 0-based index of the correct option. */
  answerIndex: number;
  /**
   * The group the data offers for a breakdown: MedMCQA `subject_name`, the MMLU subject (file
   * name), the MMLU-Pro source subject, the MedQA USMLE step (`meta_info`).
   */
  subject?: string;
  /** MMLU-Pro's `category` (lm-eval's `mmlu_pro` tasks, descriptions and few-shot examples go by it). */
  category?: string;
  /** Background text shown before the question (PubMedQA abstract sections). */
  context?: string;
  /** A worked explanation the file ships (MedMCQA `exp`, MMLU-Pro `cot_content`), for few-shot examples. */
  explanation?: string;
  /** Where the record is in its file. */
  source: ItemSource;
}

/** A malformed record that was skipped instead of stopping the load. */
export interface SkippedRecord {
  /** Where it is. */
  source: ItemSource;
  /** Why it was rejected. */
  reason: string;
}

/** What a loader returns: the good items and the records it skipped. */
export interface LoadedBenchmark {
  /** The format the file was read as. */
  format: BenchmarkFormat;
  /** The file. */
  file: string;
  /** The valid items in file order. */
  items: EvalItem[];
  /** Malformed records skipped (only when `skipBadRows`; otherwise the first one throws). */
  skipped: SkippedRecord[];
}

/** One log-likelihood request, as lm-evaluation-harness's `loglikelihood` takes them. */
export interface LoglikRequest {
  /** The prompt the continuation is conditioned on. */
  context: string;
  /** The text whose log-probability is wanted (it starts with its own separating space). */
  continuation: string;
}

/** The model's answer to one {@link LoglikRequest}. */
export interface LoglikResult {
  /** Sum of the continuation tokens' log-probabilities (natural log). */
  logprob: number;
  /** How many tokens the continuation took. */
  tokens: number;
  /** Whether greedy decoding from the context would produce exactly the continuation. */
  isGreedy?: boolean;
}

/** Anything that scores continuations: a model adapter, a remote server, a test fixture. */
export interface LoglikScorer {
  /** Scores every request, in order. Rejects with the signal's reason when it is aborted. */
  loglikelihood(requests: LoglikRequest[], signal?: AbortSignal): Promise<LoglikResult[]>;
}

/** One chat message. */
export interface ChatMessage {
  /** Who speaks. */
  role: 'system' | 'user' | 'assistant';
  /** What is said. */
  content: string;
}

/** One generation request: a conversation to continue with the assistant's turn. */
export interface GenerateRequest {
  /** The conversation so far, rendered by the model's chat template. */
  messages: ChatMessage[];
  /**
   * A plain-text prompt to continue as is, without the chat template (lm-eval's
   * `generate_until` without `--apply_chat_template`); `messages` is then empty.
   */
  prompt?: string;
  /** Upper bound on new tokens. */
  maxTokens: number;
  /** Strings that end the generation early (not included in the output). */
  stop?: string[];
}

/** Anything that writes the assistant's reply: a model adapter, a remote server, a test fixture. */
export interface ChatGenerator {
  /** Generates one reply per request, in order. Rejects with the signal's reason when aborted. */
  generate(requests: GenerateRequest[], signal?: AbortSignal): Promise<string[]>;
}
