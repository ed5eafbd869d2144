import { featuresOf, type KnowledgeBase } from './knowledge.ts';
import { words } from './text.ts';

/** Words that carry no medical meaning, left out of relevance densities. */
export const STOPWORDS = new Set(
  (
    'a an the and or but of to in on at by for with from as is are was were be been being it its this that these those ' +
    'what which who whom whose how why when where does do did can could should would will may might must has have had ' +
    'he she they them his her their there here than then so such not no nor if into over under about after before ' +
    'between both each more most other some any all one two three very also only same own while during up down out ' +
    'you your we our i me my us'
  ).split(' '),
);

/** Finds multi-word phrases in tokenized text, indexed by first word. */
export class PhraseIndex<T> {
  private readonly byFirst = new Map<string, { tokens: string[]; value: T }[]>();

  /** Adds a phrase with the value it stands for. */
  add(phrase: string, value: T): void {
    const tokens = words(phrase);
    if (tokens.length === 0) return;
    const list = this.byFirst.get(tokens[0]) ?? [];
    list.push({ tokens, value });
    this.byFirst.set(tokens[0], list);
  }

  /** Every occurrence of every phrase in `tokens`, as the phrase's value and start index. */
  find(tokens: readonly string[]): { value: T; phrase: string; start: number }[] {
    const hits: { value: T; phrase: string; start: number }[] = [];
    tokens.forEach((token, start) => {
      for (const p of this.byFirst.get(token) ?? []) {
        if (p.tokens.every((t, k) => tokens[start + k] === t)) {
          hits.push({ value: p.value, phrase: p.tokens.join(' '), start });
        }
      }
    });
    return hits;
  }
}

/** The medical vocabulary of the knowledge base, for scoring and classification. */
export interface Lexicon {
  /** Feature phrases, each with the ids of the conditions that have it. */
  features: PhraseIndex<string[]>;
  /** Condition names, each with its condition id. */
  names: PhraseIndex<string>;
  /** Every content word of features, names, risks, management and department keywords. */
  medicalWords: Set<string>;
}

/** Builds the lexicon of a knowledge base. */
export function buildLexicon(kb: KnowledgeBase): Lexicon {
  const owners = new Map<string, string[]>();
  const medicalWords = new Set<string>();
  const addWords = (text: string): void => {
    for (const w of words(text)) if (!STOPWORDS.has(w) && w.length > 2) medicalWords.add(w);
  };
  const names = new PhraseIndex<string>();
  for (const c of kb.conditions) {
    names.add(c.name, c.id);
    addWords(c.name);
    addWords(c.management);
    c.patient.risks.forEach(addWords);
    for (const f of featuresOf(c)) {
      const key = words(f).join(' ');
      owners.set(key, [...(owners.get(key) ?? []), c.id]);
      addWords(f);
    }
  }
  for (const p of kb.taxonomy.primary) {
    for (const s of p.secondary) s.keywords.forEach(addWords);
  }
  const features = new PhraseIndex<string[]>();
  for (const [phrase, ids] of owners) features.add(phrase, ids);
  return { features, names, medicalWords };
}

/** Distinct feature phrases found in `tokens` (as their condition-id lists, one per phrase however often it occurs). */
export function distinctFeatures(lex: Lexicon, tokens: readonly string[]): string[][] {
  const seen = new Map<string, string[]>();
  for (const hit of lex.features.find(tokens)) seen.set(hit.phrase, hit.value);
  return [...seen.values()];
}

/** Ids of the conditions named in `tokens`, without repeats, in order of first mention. */
export function namedConditions(lex: Lexicon, tokens: readonly string[]): string[] {
  return [...new Set(lex.names.find(tokens).map((h) => h.value))];
}
