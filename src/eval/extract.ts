/** Which rule found the answer in a model's reply (`none` when none did). */
export type ExtractionRule =
  | 'answer-is'
  | 'boxed'
  | 'is-correct'
  | 'bold'
  | 'leading-letter'
  | 'parenthesised'
  | 'option-text'
  | 'lm-eval-regex'
  | 'none';

/** The option a reply chose, if one could be read. */
export interface Extraction {
  /** 0-based option index, or undefined when the reply is unparseable. */
  index: number | undefined;
  /** The rule that decided. */
  rule: ExtractionRule;
}

const CUE =
  /\b(?:(?:final|correct|best|right)\s+)?answer(?:\s+(?:choice|option))?(?:\s+(?:is|would be|will be|should be|=))?\s*(?:is\s*)?[:\-–=]?\s*/gi;
const LETTER_AFTER_CUE =
  /^[*_"'`\s]*(?:option\s+|choice\s+)?(?:[([]([A-Za-z])[)\]]|([A-Z])(?![A-Za-z0-9]))/;
const BOXED = /\\boxed\{\s*(?:\\text(?:bf)?\{\s*)?\(?([A-Z])\)?/g;
const IS_CORRECT =
  /(?:\b(?:option|choice)\s+)?\(?\b([A-Z])\)?\s+is\s+(?:the\s+)?(?:correct|right|best)\b/g;
const BOLD = /\*\*\s*\(?([A-Z])\)?\s*(?:\*\*|[.):])/g;
const LEADING = /^[*_\s]*(?:\(([A-Z])\)|([A-Z])(?:[.):]|\s*$))/;
const LINE_LETTER = /^[*_\s]*\(?([A-Z])[.):]/gm;
const PARENTHESISED = /\(([A-Z])\)/g;

/**
 * Reads which option a model's reply chose. Rules are tried from the most explicit to the
 * loosest, and the first that yields a valid option decides:
 * 1. an answer statement ("the answer is (B)", "Answer: C", "correct answer is **D. ...**",
 *    "answer is maybe"), the last one in the reply;
 * 2. `\boxed{X}`; 3. "B is the correct answer"; 4. one distinct bold letter (`**C**`);
 * 5. a reply that opens with a letter (`B.`, `(C)`, `D)`), unless it goes on to list other
 *    lettered lines, and never the article in "A 60-year-old";
 * 6. one distinct parenthesised letter; 7. the text of exactly one option.
 * A closed `<think>` block is ignored, and in the paper's `## Thought` / `## Summarization`
 * layout the summary is read first.
 */
export function extractAnswer(reply: string, options: readonly string[]): Extraction {
  const visible = reply.replace(/<think>[\s\S]*?<\/think>/gi, '').trim();
  const summary = visible.match(/##\s*Summari[sz]ation\s*([\s\S]*)$/i)?.[1];
  for (const text of summary === undefined ? [visible] : [summary, visible]) {
    const found = extractFrom(text, options);
    if (found.index !== undefined) return found;
  }
  return { index: undefined, rule: 'none' };
}

function extractFrom(text: string, options: readonly string[]): Extraction {
  const valid = (letter: string | undefined): number | undefined => {
    if (letter === undefined) return undefined;
    const index = letter.toUpperCase().charCodeAt(0) - 65;
    return index >= 0 && index < options.length ? index : undefined;
  };
  const byStatement = lastAnswerStatement(text, options, valid);
  if (byStatement !== undefined) return { index: byStatement, rule: 'answer-is' };
  const boxed = lastValid([...text.matchAll(BOXED)].map((m) => valid(m[1])));
  if (boxed !== undefined) return { index: boxed, rule: 'boxed' };
  const correct = lastValid([...text.matchAll(IS_CORRECT)].map((m) => valid(m[1])));
  if (correct !== undefined) return { index: correct, rule: 'is-correct' };
  const boldLetters = [...text.matchAll(BOLD)].map((m) => valid(m[1]));
  const bold = onlyOne(boldLetters);
  if (bold !== undefined) return { index: bold, rule: 'bold' };
  const leading = text.match(LEADING);
  const lead = valid(leading?.[1] ?? leading?.[2]);
  const listsOptions =
    new Set([...text.matchAll(LINE_LETTER)].map((m) => m[1])).size > 1 ||
    new Set(boldLetters).size > 1;
  if (lead !== undefined && !listsOptions) return { index: lead, rule: 'leading-letter' };
  const paren = onlyOne([...text.matchAll(PARENTHESISED)].map((m) => valid(m[1])));
  if (paren !== undefined) return { index: paren, rule: 'parenthesised' };
  const byText = optionByText(text, options);
  if (byText !== undefined) return { index: byText, rule: 'option-text' };
  return { index: undefined, rule: 'none' };
}

function lastAnswerStatement(
  text: string,
  options: readonly string[],
  valid: (letter: string | undefined) => number | undefined,
): number | undefined {
  const cues = [...text.matchAll(CUE)];
  for (let i = cues.length - 1; i >= 0; i--) {
    const rest = text.slice((cues[i].index ?? 0) + cues[i][0].length);
    const letter = rest.match(LETTER_AFTER_CUE);
    const byLetter = valid(letter?.[1] ?? letter?.[2]);
    if (byLetter !== undefined) return byLetter;
    const byText = optionAtStart(rest, options);
    if (byText !== undefined) return byText;
  }
  return undefined;
}

/** The longest option whose text opens `text` (after markup), as a whole word or phrase. */
function optionAtStart(text: string, options: readonly string[]): number | undefined {
  const head = normalize(text.replace(/^[\s*_"'`([]+/, ''));
  let best: number | undefined;
  options.forEach((option, i) => {
    const o = normalize(option);
    if (o === '' || !head.startsWith(o) || /\w/.test(head.charAt(o.length))) return;
    if (best === undefined || o.length > normalize(options[best]).length) best = i;
  });
  return best;
}

/**
 * The option a reply names by its text: the reply is (or opens with) one option, or exactly
 * one option of 4+ characters appears in it as a phrase. When one matching option contains
 * another ("Vitamin B12" and "Vitamin B"), the longer is meant.
 */
function optionByText(text: string, options: readonly string[]): number | undefined {
  const atStart = optionAtStart(text, options);
  if (atStart !== undefined) return atStart;
  const body = ` ${normalize(text)} `;
  const found = options
    .map((option, i) => ({ i, o: normalize(option) }))
    .filter(({ o }) => o.length >= 4 && new RegExp(`\\W${escapeRegExp(o)}\\W`).test(body));
  const maximal = found.filter(
    ({ o }) => !found.some((other) => other.o !== o && other.o.includes(o)),
  );
  return maximal.length === 1 ? maximal[0].i : undefined;
}

function normalize(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function lastValid(indices: (number | undefined)[]): number | undefined {
  return indices.filter((i) => i !== undefined).at(-1);
}

function onlyOne(indices: (number | undefined)[]): number | undefined {
  const distinct = new Set(indices);
  return distinct.size === 1 ? [...distinct][0] : undefined;
}
