import { UsageError } from '../core/errors.ts';

/** Built-in sizes. */
export type PresetName = 'tiny' | 'demo';

/** Where and how to call an OpenAI-compatible chat endpoint. */
export interface LlmSettings {
  /** Base URL including the version prefix, e.g. `http://localhost:8000/v1`. */
  baseUrl: string;
  /** Model name sent with every request. */
  model: string;
  /** API key; default `$FINEMED_LLM_API_KEY`, else `$OPENAI_API_KEY`, else none. */
  apiKey?: string;
  /** Requests in flight at once; default 4. */
  concurrency?: number;
  /** Most HTTP requests this run may send (cache hits are free); default unlimited. */
  maxRequests?: number;
  /** Folder of cached responses; default `$FINEMED_HOME/llm-cache`. */
  cacheDir?: string;
  /** Per-request timeout in milliseconds; default 120000. */
  timeoutMs?: number;
  /** Retries after the first attempt on 429, 5xx, timeouts and network errors; default 5. */
  maxRetries?: number;
  /** First backoff delay in milliseconds (doubles each retry, with jitter); default 500. */
  backoffMs?: number;
  /** Cap on `max_tokens` of every request (each stage has its own default, 64 to 1,536). */
  maxTokens?: number;
  /** Dollars per million prompt and completion tokens, for the cost in progress and report; default 0 (not shown). */
  prices?: { input: number; output: number };
}

/** A user's corpus to synthesize from. */
export interface CorpusSettings {
  /** A JSONL file or a folder of `.txt` files. */
  path: string;
  /** The JSONL text field (default `text`, else `answer`). */
  field?: string;
  /** Read at most this many documents. */
  limit?: number;
  /** Use only the corpus as instruction source (the knowledge base still makes the evaluation set). */
  only?: boolean;
  /** Skip bad JSONL lines (the synthesis hooks are told which) instead of stopping. */
  skipBadRows?: boolean;
  /** Longest JSONL line in bytes (default 8 MiB). */
  maxRowBytes?: number;
  /** Largest `.txt` file of a corpus folder in bytes (default 256 MiB). */
  maxFileBytes?: number;
}

/** Every knob of a synthesis run. */
export interface SynthesisKnobs {
  /** Seed of every random draw. */
  seed: number;
  /** How many knowledge-base conditions the world holds (look-alikes are pulled in together). */
  conditions: number;
  /** Knowledge-base passages to write (the pretraining corpus and instruction sources). */
  passages: number;
  /** Passages every condition gets at least (one presentation, one case). */
  minPassagesPerCondition: number;
  /** Zipf exponent of condition frequency: 0 = uniform, higher = a longer tail of rare conditions. */
  rarity: number;
  /** Held-out evaluation questions. */
  evalItems: number;
  /** Share of preference pairs whose rejected answer anchors on a look-alike (the rest: direct answers). */
  anchorFraction: number;
  /** An evaluation item leaks when this share of its 13-grams occurs in training. */
  leakThreshold: number;
  /** Department of `sft_department.jsonl` (default: the largest). */
  department?: string;
  /** Sub-department of `sft_subdepartment.jsonl` (default: the largest in the department). */
  subdepartment?: string;
  /** Texts processed at once by the pipeline. */
  concurrency: number;
}

/** Options of {@link synthesize}: a preset plus any knob overrides. */
export interface SynthesisOptions extends Partial<SynthesisKnobs> {
  /** Base sizes; default `demo`. */
  preset?: PresetName;
  /** A user's corpus. */
  corpus?: CorpusSettings;
  /** Use an LLM instead of the offline rules. */
  llm?: LlmSettings;
  /** A different knowledge folder (default `assets/knowledge`). */
  knowledgeDir?: string;
  /** Throw a ContaminationError when an evaluation item leaks (default true). */
  failOnLeak?: boolean;
}

const COMMON = {
  seed: 1,
  minPassagesPerCondition: 2,
  rarity: 1.0,
  anchorFraction: 0.7,
  leakThreshold: 0.5,
  concurrency: 8,
};

/**
 * `tiny`: seconds, for tests and CI. `demo`: the flagship's default, sized so a small decoder
 * on a 2-core CPU can pretrain and fine-tune in minutes (about 1,600 passages, ~1,000
 * common and ~500 complex instructions, 200 evaluation questions over 60 conditions).
 */
export const PRESETS: Record<PresetName, SynthesisKnobs> = {
  tiny: { ...COMMON, conditions: 16, passages: 120, evalItems: 32 },
  demo: { ...COMMON, conditions: 60, passages: 1600, evalItems: 200 },
};

/** The preset's knobs with the overrides applied, checked. */
export function resolveKnobs(options: SynthesisOptions): SynthesisKnobs & { preset: PresetName } {
  const preset = options.preset ?? 'demo';
  if (!PRESETS[preset]) throw new UsageError(`unknown preset '${preset}' (expected tiny|demo)`);
  const keys = [
    ...Object.keys(PRESETS[preset]),
    'department',
    'subdepartment',
  ] as (keyof SynthesisKnobs)[];
  const overrides = Object.fromEntries(
    keys.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]),
  );
  const k = { ...PRESETS[preset], ...overrides, preset } as SynthesisKnobs & { preset: PresetName };
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new UsageError(what);
  };
  check(Number.isInteger(k.seed), 'seed must be an integer');
  check(Number.isInteger(k.conditions) && k.conditions >= 4, 'conditions must be an integer >= 4');
  check(Number.isInteger(k.passages) && k.passages >= 1, 'passages must be a positive integer');
  check(Number.isInteger(k.evalItems) && k.evalItems >= 1, 'evalItems must be a positive integer');
  check(
    Number.isInteger(k.minPassagesPerCondition) && k.minPassagesPerCondition >= 2,
    'minPassagesPerCondition must be >= 2',
  );
  check(k.rarity >= 0 && k.rarity <= 4, 'rarity must be within [0, 4]');
  check(k.anchorFraction >= 0 && k.anchorFraction <= 1, 'anchorFraction must be within [0, 1]');
  check(k.leakThreshold > 0 && k.leakThreshold <= 1, 'leakThreshold must be within (0, 1]');
  check(
    Number.isInteger(k.concurrency) && k.concurrency >= 1,
    'concurrency must be a positive integer',
  );
  return k;
}
