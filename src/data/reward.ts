import type { Condition, KnowledgeBase } from './knowledge.ts';
import { distinctFeatures, namedConditions, STOPWORDS, type Lexicon } from './lexicon.ts';
import { sentences, words } from './text.ts';

const DIAGNOSTIC =
  /\b(diagnosis|which condition|which of the following|point to|suggested by|best explains|fits best|accounts for)\b/i;
const CONTRAST = /\b(rather than|apart from|distinguish|differentiate|versus|vs)\b/i;
const NEGATION = /\b(avoid|not|never|mistake|error|contraindicated|instead|should be avoided)\b/i;
const ATTRIBUTION = /\b(points? to|favours?|suggests?|typical of)\b/i;

/**
 * The condition a question is about, inferred from its text alone: the one it names if it
 * names exactly one (and is not a contrast), else the condition whose features the question
 * shows most of (restricted to the named ones, e.g. the options, when there are several).
 */
export function expectedCondition(
  question: string,
  kb: KnowledgeBase,
  lex: Lexicon,
): Condition | undefined {
  const tokens = words(question);
  const named = namedConditions(lex, tokens);
  if (named.length === 1 && !DIAGNOSTIC.test(question)) return kb.byId.get(named[0]);
  const votes = new Map<string, number>();
  for (const owners of distinctFeatures(lex, tokens)) {
    for (const id of owners) votes.set(id, (votes.get(id) ?? 0) + 1);
  }
  const pool = named.length > 1 ? named : [...votes.keys()];
  let best: string | undefined;
  for (const id of pool) {
    if (best === undefined || (votes.get(id) ?? 0) > (votes.get(best) ?? 0)) best = id;
  }
  return best === undefined ? undefined : kb.byId.get(best);
}

/**
 * A rule-based reward model for a direct answer, reading only the question and the answer
 * (plus the knowledge base it stands for): it rewards covering the facts of the condition the
 * question is about, and penalises naming the wrong diagnosis, recommending the condition's
 * known wrong choice, attributing a clue to the wrong condition, bringing in features the
 * condition does not have, and answers too short to help. Higher is better.
 */
export function rewardAnswer(
  question: string,
  answer: string,
  kb: KnowledgeBase,
  lex: Lexicon,
): number {
  const qTokens = words(question);
  const aTokens = words(answer);
  const expected = expectedCondition(question, kb, lex);
  let score = aTokens.length < 8 ? -2 : 0;
  if (!expected) {
    const content = new Set(qTokens.filter((w) => !STOPWORDS.has(w)));
    const hit = [...content].filter((w) => aTokens.includes(w)).length;
    return score + (content.size ? (5 * hit) / content.size : 0) + Math.min(3, aTokens.length / 15);
  }
  const found = distinctFeatures(lex, aTokens);
  score += found.filter((ids) => ids.includes(expected.id)).length;
  if (namedConditions(lex, qTokens).length <= 1 && !CONTRAST.test(question)) {
    score -= 3 * found.filter((ids) => !ids.includes(expected.id)).length;
  }
  const lower = answer.toLowerCase();
  if (expected.patient.risks.some((r) => lower.includes(r.toLowerCase()))) score += 1;
  if (lower.includes(expected.management.toLowerCase())) score += 2;
  const parts = sentences(answer);
  if (DIAGNOSTIC.test(question) || /\n[A-D]\. /.test(question)) {
    const first = namedConditions(lex, aTokens)[0];
    if (first !== undefined && first !== expected.id) score -= 8;
  }
  for (const s of parts) {
    const sl = s.toLowerCase();
    if (sl.includes(expected.wrongChoice.choice.toLowerCase()) && !NEGATION.test(s)) score -= 6;
    if (ATTRIBUTION.test(s)) {
      const st = words(s);
      const attributed = namedConditions(lex, st)[0];
      const feats = distinctFeatures(lex, st).filter((ids) => ids.includes(expected.id));
      if (
        attributed !== undefined &&
        attributed !== expected.id &&
        feats.some((ids) => !ids.includes(attributed))
      ) {
        score -= 4;
      }
    }
  }
  return score;
}
