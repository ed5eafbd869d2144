import { distinctFeatures, namedConditions, STOPWORDS, type Lexicon } from './lexicon.ts';
import { words } from './text.ts';
import type { InstructionScores } from './types.ts';

const INTERROGATIVE =
  /^(what|which|how|why|when|who|whom|whose|where|is|are|does|do|did|can|could|should|would|will|in what)\b/i;
const IMPERATIVE =
  /^(explain|describe|list|compare|outline|give|name|identify|discuss|summari[sz]e|state|work through|select|choose|contrast|define)\b/i;
const VAGUE =
  /\b(what|how|why)\s+(is|are|does|do|was|were)\s+(this|that|it|they|these|those)\b|\betc\b|\band so on\b/i;
const VIGNETTE = /\b\d+-(year|month|week|day)-old\b/i;
const DIAGNOSIS_ASK =
  /\b(most likely diagnosis|which (condition|diagnosis|disease)|which of the following|what diagnosis|best explains)\b/i;
const REASONING_ASK =
  /\b(explain|why|distinguish|differentiate|rule out|differential|step by step|reasoning|work through|justify)\b/i;
const RECALL = /^(what is|what are|define|name|list)\b/i;
const CASE_DETAILS = [
  /\b(according to|in|from|based on) (the|this) (passage|text|article|report|case report|excerpt|example|study|paragraph)\b/i,
  /\bthe (patient|case|woman|man|child|boy|girl|infant|author)s? (described|mentioned|discussed|presented|reported)\b/i,
  /\b(described|mentioned|discussed) (above|earlier|in the (passage|text|article))\b/i,
];

const clamp = (x: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, x));

/**
 * Scores an instruction by rules that mirror the paper's scoring prompt:
 * - quality 1-10: is it a question or instruction at all (a bare statement scores 1-2), is it
 *   well formed (capitalised, punctuated, not too short), is it vague ("what is this"), does
 *   it name something specific;
 * - difficulty 1-10: a patient vignette, how many clinical features must be weighed, whether it
 *   asks for a diagnosis and for reasoning (explain, rule out, distinguish), how many
 *   conditions it names; bare recall questions score low;
 * - relevance 1-6: the share of its content words that are medical vocabulary, plus one if it
 *   names a condition or a clinical feature;
 * - mentions details: whether it points at a source text the reader cannot see ("according
 *   to the passage", "the patient described").
 */
export function scoreInstruction(text: string, lex: Lexicon): InstructionScores {
  const t = text.trim();
  const tokens = words(t);
  const n = tokens.length;
  const parts = t.split(/(?<=[.?!])\s+/).filter((x) => x.length > 0);
  const features = distinctFeatures(lex, tokens).length;
  const names = namedConditions(lex, tokens).length;
  const specific = names > 0 || features >= 2;
  const asks = parts.some((s) => s.endsWith('?') || INTERROGATIVE.test(s) || IMPERATIVE.test(s));

  let quality: number;
  if (!asks) {
    quality = n >= 6 ? 2 : 1;
  } else {
    quality = 7;
    quality += /[.?]$/.test(t) ? 1 : -1;
    if (parts.some((s) => /^[a-z]/.test(s))) quality -= 1;
    if (n < 6) quality -= 2;
    if (n > 160) quality -= 1;
    if (VAGUE.test(t)) quality -= 3;
    if (specific) quality += 1;
    if (/\b(\w+)\s+\1\b/i.test(t)) quality -= 1;
    if ((t.match(/\?/g) ?? []).length > 2) quality -= 1;
  }

  let difficulty = 2;
  if (VIGNETTE.test(t)) difficulty += 2;
  difficulty += Math.min(3, features);
  if (DIAGNOSIS_ASK.test(t)) difficulty += 1;
  if (REASONING_ASK.test(t)) difficulty += 2;
  if (names >= 2) difficulty += 1;
  if (RECALL.test(t) && n < 14 && features === 0) difficulty -= 1;
  if (features === 0 && n > 25) difficulty += 1;

  const content = tokens.filter((w) => !STOPWORDS.has(w));
  const density = content.length
    ? content.filter((w) => lex.medicalWords.has(w)).length / content.length
    : 0;
  const relevance =
    1 +
    [0.1, 0.25, 0.4, 0.55].filter((x) => density >= x).length +
    (names > 0 || features > 0 ? 1 : 0);

  return {
    quality: clamp(quality, 1, 10),
    difficulty: clamp(difficulty, 1, 10),
    relevance: clamp(relevance, 1, 6),
    mentionsDetails: CASE_DETAILS.some((re) => re.test(t)),
  };
}
