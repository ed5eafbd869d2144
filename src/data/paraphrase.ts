import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../core/errors.ts';
import type { Rng } from '../core/rng.ts';
import { projectRoot } from '../core/version.ts';
import { checkContamination, type ContaminationReport } from './contamination.ts';
import { evalPrompt, type EvalItem } from './evalset.ts';
import { featuresOf, type KnowledgeBase } from './knowledge.ts';
import type { DpoRow, McqRow, PretrainRow, SftRow } from './schemas.ts';
import { words } from './text.ts';
import { renderWithTemplate } from './vignettes.ts';

/** The built-in table of evaluation-only phrasings. */
export const DEFAULT_PHRASINGS_FILE = join(projectRoot, 'assets', 'eval-phrasings.json');

/** Evaluation-only phrasings of the knowledge base, each entry with at least one. */
export interface EvalPhrasings {
  /** By feature (symptom, sign or finding). */
  features: ReadonlyMap<string, readonly string[]>;
  /** By patient setting (`at 34 weeks of gestation`): with the age it opens a question, and training vignettes open the same way. */
  settings: ReadonlyMap<string, readonly string[]>;
}

const table = z.record(z.string(), z.array(z.string().trim().min(2).max(200)).min(1));
const fileSchema = z.object({ notice: z.string(), settings: table, phrasings: table }).strict();

/** Reads and validates a phrasings file; throws an {@link InputError} naming the file and field. */
export function loadPhrasings(file: string = DEFAULT_PHRASINGS_FILE): EvalPhrasings {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read JSON: ${(error as Error).message}`, { file });
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(issue.message, { file, field: issue.path.join('.') });
  }
  const same = (a: string, b: string): boolean => words(a).join(' ') === words(b).join(' ');
  for (const key of ['settings', 'phrasings'] as const) {
    for (const [phrase, alternatives] of Object.entries(parsed.data[key])) {
      const i = alternatives.findIndex((a) => same(a, phrase));
      if (i >= 0)
        throw new InputError('a phrasing must differ from the phrase it rewrites', {
          file,
          field: `${key}.${phrase}[${i}]`,
        });
    }
  }
  return {
    features: new Map(Object.entries(parsed.data.phrasings)),
    settings: new Map(Object.entries(parsed.data.settings)),
  };
}

/** Features and settings of the knowledge base that have no evaluation-only phrasing, in file order. */
export function unphrased(kb: KnowledgeBase, phrasings: EvalPhrasings): string[] {
  const features = kb.conditions.flatMap(featuresOf).filter((f) => !phrasings.features.has(f));
  const settings = kb.conditions
    .flatMap((c) => (c.patient.setting ? [c.patient.setting] : []))
    .filter((s) => !phrasings.settings.has(s));
  return [...new Set([...features, ...settings])];
}

/** Every training text of a run: pretraining texts, SFT messages, DPO prompts and answers. */
export function trainingTexts(rows: {
  pretrain: readonly PretrainRow[];
  sftCommon: readonly SftRow[];
  sftComplex: readonly SftRow[];
  dpo: readonly DpoRow[];
}): Set<string> {
  const train = new Set<string>();
  for (const r of rows.pretrain) train.add(r.text);
  for (const r of [...rows.sftCommon, ...rows.sftComplex])
    for (const m of r.messages) train.add(m.content);
  for (const r of rows.dpo) train.add(r.prompt).add(r.chosen).add(r.rejected);
  return train;
}

/**
 * The item's question written again with the same template, patient and stem, each feature
 * and the setting replaced by one of its evaluation-only phrasings (drawn from `rng`). Phrases
 * without a phrasing stay verbatim and are returned as `missing`.
 */
export function paraphraseQuestion(
  item: EvalItem,
  phrasings: EvalPhrasings,
  rng: Rng,
): { question: string; missing: string[] } {
  const missing: string[] = [];
  const swap = (table: EvalPhrasings['features'], phrase: string): string => {
    const alternatives = table.get(phrase);
    if (!alternatives) missing.push(phrase);
    return alternatives ? rng.pick(alternatives) : phrase;
  };
  const features = (list: string[]): string[] => list.map((f) => swap(phrasings.features, f));
  const v = item.vignette;
  const vignette = {
    ...v,
    ...(v.setting ? { setting: swap(phrasings.settings, v.setting) } : {}),
    symptoms: features(v.symptoms),
    signs: features(v.signs),
    findings: features(v.findings),
  };
  return {
    question: `${renderWithTemplate(vignette, 'eval', item.template)} ${item.stem}`,
    missing,
  };
}

/** How the paraphrased evaluation file was built. */
export interface ParaphraseReport {
  /** Items re-drawn because their first question shared a 13-gram with training. */
  rephrased: string[];
  /** Items whose question still shares a 13-gram with training after every draw (kept, and reported here). */
  unresolved: string[];
  /** Phrases shown in some question that have no evaluation-only phrasing (kept verbatim). */
  missing: string[];
  /**
   * The contamination check of the paraphrased items, options included (GPT-3's rule: `dirty`
   * lists any item sharing a 13-gram). An item can be dirty through its options alone: they
   * are the verbatim file's, and training's multiple-choice instructions list the same names.
   */
  contamination: ContaminationReport;
}

/** Draws per dirty item before it is reported instead of re-phrased. */
const MAX_DRAWS = 6;

/**
 * `eval_mcq_paraphrased.jsonl`: each row of `rows` (built from `items`, same order) with its
 * question re-written by {@link paraphraseQuestion}; ids, answers and options unchanged. An
 * item whose question shares a 13-gram with `train` is drawn again (each item has its own
 * stream forked from `rng`), up to {@link MAX_DRAWS} times, then reported as unresolved.
 */
export function paraphrasedRows(
  items: readonly EvalItem[],
  rows: readonly McqRow[],
  phrasings: EvalPhrasings,
  train: Iterable<string>,
  rng: Rng,
  threshold: number,
): { rows: McqRow[]; report: ParaphraseReport } {
  const texts = [...train];
  const streams = items.map((item) => rng.fork(item.id));
  const missing = new Set<string>();
  const draw = (i: number): string => {
    const out = paraphraseQuestion(items[i], phrasings, streams[i]);
    out.missing.forEach((f) => missing.add(f));
    return out.question;
  };
  const questions = items.map((_, i) => draw(i));
  const dirtyQuestions = (): string[] =>
    checkContamination(
      texts,
      rows.map((r, i) => ({ id: r.id, text: questions[i] })),
      { threshold },
    ).report.dirty;
  let dirty = dirtyQuestions();
  const rephrased = new Set<string>();
  for (let round = 1; round < MAX_DRAWS && dirty.length > 0; round++) {
    let changed = false;
    for (const id of dirty) {
      const i = rows.findIndex((r) => r.id === id);
      const next = draw(i);
      changed ||= next !== questions[i];
      questions[i] = next;
      rephrased.add(id);
    }
    if (!changed) break;
    dirty = dirtyQuestions();
  }
  const out = rows.map((r, i) => ({ ...r, question: questions[i] }));
  return {
    rows: out,
    report: {
      rephrased: [...rephrased],
      unresolved: dirty,
      missing: [...missing],
      contamination: checkContamination(
        texts,
        out.map((r) => ({ id: r.id, text: evalPrompt(r) })),
        { threshold },
      ).report,
    },
  };
}
