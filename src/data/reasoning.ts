import type { Rng } from '../core/rng.ts';
import { featuresOf, type Condition, type KnowledgeBase } from './knowledge.ts';
import { LETTERS } from './mcq.ts';
import { ageText, capitalize, listJoin, personNoun } from './text.ts';
import type { InstructionFacts, OptionLetter } from './types.ts';
import { vignetteFeatures } from './vignettes.ts';
import { worldLookalikes, type World } from './world.ts';

/** What a differential-diagnosis answer reasons over. */
export interface Differential {
  /** The condition the patient has. */
  condition: Condition;
  /** Who the patient is, e.g. `a 34-year-old woman`, or `the patient`. */
  patient: string;
  /** The findings the question shows. */
  shown: string[];
  /** Look-alikes to rule out. */
  lookalikes: Condition[];
  /** Other options to dismiss (multiple-choice distractors that are not look-alikes). */
  distractors: Condition[];
  /** Options, when the question is multiple choice. */
  options?: Record<OptionLetter, string>;
  /** Option condition ids by letter. */
  optionIds?: Partial<Record<OptionLetter, string>>;
}

/** Assembles the differential behind a complex knowledge-base instruction. */
export function differentialOf(
  facts: InstructionFacts,
  question: string,
  kb: KnowledgeBase,
  world: World,
): Differential {
  const condition = kb.byId.get(facts.conditionId!)!;
  const v = facts.vignette;
  const lower = question.toLowerCase();
  const shown = v
    ? vignetteFeatures(v)
    : (facts.shown ?? featuresOf(condition).filter((f) => lower.includes(f.toLowerCase())));
  const ids = facts.lookalikeIds?.length
    ? facts.lookalikeIds
    : worldLookalikes(condition, world)
        .slice(0, 2)
        .map((l) => l.id);
  const lookalikes = ids.map((id) => kb.byId.get(id)!);
  const optionIds: Partial<Record<OptionLetter, string>> = {};
  const distractors: Condition[] = [];
  if (facts.options) {
    for (const letter of LETTERS) {
      const match = kb.conditions.find((c) => c.name === facts.options![letter]);
      if (!match) continue;
      optionIds[letter] = match.id;
      if (match.id !== condition.id && !ids.includes(match.id)) distractors.push(match);
    }
  }
  return {
    condition,
    patient: v ? `a ${ageText(v.age)} ${personNoun(v.age, v.sex)}` : 'the patient',
    shown: shown.length ? shown : condition.symptoms.slice(0, 2),
    lookalikes,
    distractors,
    ...(facts.options ? { options: facts.options, optionIds } : {}),
  };
}

function letterOf(d: Differential, id: string): OptionLetter | undefined {
  return LETTERS.find((l) => d.optionIds?.[l] === id);
}

function answerLine(d: Differential, c: Condition): string {
  const letter = letterOf(d, c.id);
  return letter ? ` The answer is ${letter}: ${d.options![letter]}.` : '';
}

/**
 * A long answer in the paper's two sections: `## Thought` works from the findings to the
 * candidate diagnoses (the look-alikes that share a finding), eliminates each by the feature
 * that tells it apart, and concludes; `## Summarization` states the diagnosis, the
 * distinguishing features, and first-line management with the wrong choice to avoid.
 */
export function longReasoning(d: Differential): string {
  const c = d.condition;
  const shown = new Set(d.shown);
  // A look-alike is eliminated by its clue only when the question shows that clue.
  const entry = (l: Condition): Condition['lookalikes'][number] | undefined =>
    c.lookalikes.find((x) => x.id === l.id && shown.has(x.clue));
  const overlaps = d.lookalikes
    .map((l) =>
      entry(l)
        ? `${entry(l)!.shared} fits both ${c.name} and ${l.name}`
        : `${l.name} is a recognised look-alike of ${c.name}`,
    )
    .map(capitalize);
  const eliminate = [
    ...d.lookalikes.map((l) =>
      entry(l)
        ? `- ${capitalize(l.name)}: ${entry(l)!.clue} is not expected in ${l.name}, so it is unlikely.`
        : `- ${capitalize(l.name)}: the findings as a whole do not fit it.`,
    ),
    ...d.distractors.map(
      (x) => `- ${capitalize(x.name)}: none of the key findings is typical of it.`,
    ),
  ];
  const clues = d.lookalikes.map((l) => entry(l)?.clue).filter((x): x is string => !!x);
  const distinguished = d.lookalikes
    .filter((l) => entry(l))
    .map((l) => `from ${l.name} by ${entry(l)!.clue}`);
  const candidates = listJoin([c.name, ...d.lookalikes.map((l) => l.name)]);
  return [
    '## Thought',
    `1. Key findings: ${d.patient} with ${listJoin(d.shown)}.`,
    `2. Candidate diagnoses: ${overlaps.length ? `${overlaps.join('. ')}. ` : ''}The differential is therefore ${candidates}.`,
    '3. Elimination:',
    ...eliminate,
    `4. Conclusion: ${c.name} explains every finding${clues.length ? `, including ${listJoin(clues)}` : ''}.`,
    '',
    '## Summarization',
    `The most likely diagnosis is ${c.name}.${answerLine(d, c)}${distinguished.length ? ` It is distinguished ${listJoin(distinguished)}.` : ''} First-line management is ${c.management}; avoid ${c.wrongChoice.choice}, because ${c.wrongChoice.why}.`,
  ].join('\n');
}

/**
 * A fluent wrong answer in the same format: it anchors on a finding the condition shares with
 * a look-alike, and concludes the look-alike. Undefined when no look-alike shares a shown finding.
 */
export function anchoredAnswer(d: Differential, rng: Rng): string | undefined {
  const c = d.condition;
  const shown = new Set(d.shown);
  const traps = d.lookalikes
    .map((l) => ({ l, shared: c.lookalikes.find((x) => x.id === l.id)?.shared }))
    .filter((t): t is { l: Condition; shared: string } => !!t.shared && shown.has(t.shared));
  if (traps.length === 0) return undefined;
  const { l, shared } = rng.pick(traps);
  return [
    '## Thought',
    `1. Key findings: ${d.patient} with ${listJoin(d.shown)}.`,
    `2. Most telling feature: ${shared}, which is typical of ${l.name}.`,
    `3. The remaining findings are compatible with ${l.name} and do not change the picture.`,
    `4. Conclusion: ${l.name}.`,
    '',
    '## Summarization',
    `The most likely diagnosis is ${l.name}.${answerLine(d, l)} First-line management is ${l.management}.`,
  ].join('\n');
}

/** The direct short answer the paper uses as the rejected response. */
export function shortAnswer(d: Differential): string {
  return `The most likely diagnosis is ${d.condition.name}.${answerLine(d, d.condition)}`;
}
