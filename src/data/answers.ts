import type { Rng } from '../core/rng.ts';
import { featuresOf, type Condition, type KnowledgeBase } from './knowledge.ts';
import { LETTERS } from './mcq.ts';
import { ageBand } from './passages.ts';
import { capitalize, listJoin, sentence } from './text.ts';
import type { InstructionFacts } from './types.ts';
import { worldLookalikes, type World } from './world.ts';

/** How an offline answerer writes: what share of the facts it covers, how often it slips. */
export interface AnswerStyle {
  /** Fraction of the relevant facts included, drawn uniformly from this range. */
  coverage: [number, number];
  /** Probability of one error (a look-alike's feature, a wrong diagnosis, a wrong recommendation). */
  errorRate: number;
}

/** A careful answerer: thorough and rarely wrong. */
export const CAREFUL: AnswerStyle = { coverage: [0.6, 1], errorRate: 0.08 };
/** A quick answerer: shorter and more often wrong. */
export const QUICK: AnswerStyle = { coverage: [0.3, 0.8], errorRate: 0.3 };

/** A direct answer with whether an error was written into it (known only to the generator). */
export interface DirectAnswer {
  /** The answer text. */
  text: string;
  /** True when the answerer slipped. */
  erroneous: boolean;
}

function some<T>(items: readonly T[], share: number, rng: Rng): T[] {
  return rng.sample(items, Math.max(1, Math.round(items.length * share)));
}

/** The look-alike an erring answer drifts to, preferring ones inside the world. */
function driftTarget(
  c: Condition,
  facts: InstructionFacts,
  kb: KnowledgeBase,
  world: World,
  rng: Rng,
): Condition {
  const ids = facts.lookalikeIds?.length
    ? facts.lookalikeIds
    : worldLookalikes(c, world).map((l) => l.id);
  return kb.byId.get(ids.length ? rng.pick(ids) : rng.pick(c.lookalikes).id)!;
}

/**
 * A direct answer to a common knowledge-base instruction, written from the knowledge base in
 * the given style. Two answers in different styles are what the reward model chooses between.
 */
export function directAnswer(
  facts: InstructionFacts,
  kb: KnowledgeBase,
  world: World,
  style: AnswerStyle,
  rng: Rng,
): DirectAnswer {
  const c = kb.byId.get(facts.conditionId!)!;
  const share = style.coverage[0] + rng.random() * (style.coverage[1] - style.coverage[0]);
  const err = rng.random() < style.errorRate;
  const other = driftTarget(c, facts, kb, world, rng);
  const shown = new Set(facts.shown ?? []);
  const named = facts.lookalikeIds?.length ? facts.lookalikeIds : c.lookalikes.map((l) => l.id);
  // Only clues the question actually shows can justify the answer.
  const decisive = c.lookalikes.filter((l) => named.includes(l.id) && shown.has(l.clue));
  let text: string;
  switch (facts.ask) {
    case 'identify':
    case 'diagnosis':
    case 'differential': {
      const named = err ? other : c;
      const reasons = some(decisive, share, rng).map(
        (l) => `${l.clue} favours it over ${kb.byId.get(l.id)!.name}`,
      );
      if (reasons.length === 0 && facts.shown?.length)
        reasons.push(`${facts.shown[0]} supports it`);
      const lead =
        facts.ask === 'identify'
          ? `These features point to ${named.name}`
          : `The most likely diagnosis is ${named.name}`;
      text = [lead, ...(err ? [] : reasons)].map(sentence).join(' ');
      break;
    }
    case 'mcq': {
      const letter = err ? LETTERS.find((l) => l !== facts.answerIdx)! : facts.answerIdx!;
      const why =
        decisive[0] && share > 0.6 && !err
          ? ` ${sentence(`${decisive[0].clue} is the deciding feature`)}`
          : '';
      text = `Answer: ${letter}. ${facts.options![letter]}.${why}`;
      break;
    }
    case 'risks': {
      const rs = some(c.patient.risks, share, rng);
      if (err) rs[0] = rng.pick(other.patient.risks);
      text = [
        `${c.name} most often affects ${ageBand(c.patient.age)}`,
        `risk factors include ${listJoin(rs)}`,
      ]
        .map(sentence)
        .join(' ');
      break;
    }
    case 'management': {
      const avoid = `avoid ${c.wrongChoice.choice}, because ${c.wrongChoice.why}`;
      const lines = err
        ? [
            `${c.wrongChoice.choice} is a reasonable first step in ${c.name}`,
            `it can be followed by ${c.management}`,
          ]
        : [
            `first-line management of ${c.name} is ${c.management}`,
            ...(share > 0.5 ? [avoid] : []),
          ];
      text = lines.map(sentence).join(' ');
      break;
    }
    case 'distinguish': {
      const l = c.lookalikes.find((x) => x.id === facts.lookalikeIds?.[0]) ?? c.lookalikes[0];
      const L = kb.byId.get(l.id)!;
      const [a, b] = err ? [L.name, c.name] : [c.name, L.name];
      const extra = featuresOf(L).filter((f) => !featuresOf(c).includes(f));
      text = [
        `both can cause ${l.shared}, but ${l.clue} points to ${a} rather than ${b}`,
        ...(share > 0.6 && extra.length
          ? [`${L.name} is instead suggested by ${rng.pick(extra)}`]
          : []),
      ]
        .map(sentence)
        .join(' ');
      break;
    }
    default: {
      const pick = (xs: string[]): string[] => some(xs, share, rng);
      const sx = pick(c.symptoms);
      if (err)
        sx[0] = rng.pick(
          featuresOf(other)
            .filter((f) => !featuresOf(c).includes(f))
            .concat(other.symptoms),
        );
      text = [
        ...(facts.ask === 'vague' ? [`this refers to ${c.name}`] : []),
        `${c.name} typically presents with ${listJoin(sx)}`,
        `examination may show ${listJoin(pick(c.signs))}, and investigations show ${listJoin(pick(c.findings))}`,
      ]
        .map(sentence)
        .join(' ');
    }
  }
  return { text: capitalize(text), erroneous: err };
}
