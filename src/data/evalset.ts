import type { Rng } from '../core/rng.ts';
import type { KnowledgeBase } from './knowledge.ts';
import { buildOptions, formatOptions, type OptionSet } from './mcq.ts';
import {
  HeldOutCombos,
  pickTemplate,
  planVignette,
  renderWithTemplate,
  vignetteFeatures,
  vignetteLookalikes,
  type Vignette,
} from './vignettes.ts';
import type { World } from './world.ts';

/** Question stems used only in evaluation, never in training. */
const EVAL_STEMS = [
  'Which of the following is the most likely diagnosis?',
  'Which of the following is the most probable underlying condition?',
];

/** One held-out multiple-choice vignette. */
export interface EvalItem extends OptionSet {
  /** Stable id, e.g. `eval-0007`. */
  id: string;
  /** The condition that is the answer. */
  conditionId: string;
  /** The patient. */
  vignette: Vignette;
  /** The question text (vignette and stem, without the options). */
  question: string;
  /** The correct option's text. */
  answer: string;
  /** Index of the evaluation template the question was written with. */
  template: number;
  /** The question's closing stem. */
  stem: string;
}

/**
 * Builds `n` evaluation questions spread evenly over the world's conditions (so rare and
 * frequent conditions are equally represented), each a vignette in the evaluation-only
 * templates whose options are the condition, its look-alikes and same-department distractors.
 * Every vignette contains the clue that rules out each look-alike option. Returns the items and
 * their feature combos, which training must then avoid.
 */
export function buildEvalSet(
  kb: KnowledgeBase,
  world: World,
  n: number,
  rng: Rng,
): { items: EvalItem[]; heldOut: HeldOutCombos } {
  const heldOut = new HeldOutCombos();
  const items: EvalItem[] = [];
  const seen = new Set<string>();
  let order = rng.shuffle([...world.conditions]);
  for (let attempt = 0; items.length < n && attempt < n * 20; attempt++) {
    if (attempt % world.conditions.length === 0 && attempt > 0)
      order = rng.shuffle([...world.conditions]);
    const c = order[attempt % order.length];
    const v = planVignette(c, world, rng, { lookalikes: 3, features: [5, 7] });
    if (!v) continue;
    const key = `${c.id}|${[...vignetteFeatures(v)].sort().join('|')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    heldOut.add(v);
    const set = buildOptions(c, vignetteLookalikes(v, kb), world, rng);
    const template = pickTemplate('eval', rng);
    const stem = rng.pick(EVAL_STEMS);
    items.push({
      ...set,
      id: `eval-${String(items.length + 1).padStart(4, '0')}`,
      conditionId: c.id,
      vignette: v,
      question: `${renderWithTemplate(v, 'eval', template)} ${stem}`,
      answer: set.options[set.answerIdx],
      template,
      stem,
    });
  }
  return { items, heldOut };
}

/** The question with its options, as a model sees it. */
export function evalPrompt(item: Pick<EvalItem, 'question' | 'options'>): string {
  return `${item.question}\n${formatOptions(item.options)}`;
}
