import type { Rng } from '../core/rng.ts';
import type { Condition } from './knowledge.ts';
import type { OptionLetter } from './types.ts';
import type { World } from './world.ts';

/** The four option letters in order. */
export const LETTERS: OptionLetter[] = ['A', 'B', 'C', 'D'];

/** Four answer options and the correct one. */
export interface OptionSet {
  /**
   * Option texts by letter: condition names exactly as the knowledge base and every training
   * answer write them (`measles`, `Kawasaki disease`), so an option scored as the end of
   * "The most likely diagnosis is ..." reads as the training data does.
   */
  options: Record<OptionLetter, string>;
  /** The correct letter. */
  answerIdx: OptionLetter;
  /** Condition ids by letter. */
  ids: Record<OptionLetter, string>;
}

/**
 * Options for a question about `c`: the correct condition, its look-alikes (up to three), and
 * distractors from the same primary department (else anywhere in the world) to make four,
 * in random order.
 */
export function buildOptions(
  c: Condition,
  lookalikes: Condition[],
  world: World,
  rng: Rng,
): OptionSet {
  const picked = [c, ...lookalikes.slice(0, 3)];
  const taken = new Set(picked.map((x) => x.id));
  const sameDept = world.conditions.filter(
    (x) => !taken.has(x.id) && x.department === c.department,
  );
  const others = world.conditions.filter((x) => !taken.has(x.id) && x.department !== c.department);
  for (const pool of [rng.shuffle([...sameDept]), rng.shuffle([...others])]) {
    for (const x of pool) {
      if (picked.length >= 4) break;
      picked.push(x);
    }
  }
  if (picked.length < 4) throw new Error('a world needs at least four conditions for four options');
  const order = rng.shuffle([...picked]);
  const options = {} as Record<OptionLetter, string>;
  const ids = {} as Record<OptionLetter, string>;
  order.forEach((x, i) => {
    options[LETTERS[i]] = x.name;
    ids[LETTERS[i]] = x.id;
  });
  return { options, ids, answerIdx: LETTERS[order.indexOf(c)] };
}

/** Options as lines under a question: `A. Text`. */
export function formatOptions(options: Record<OptionLetter, string>): string {
  return LETTERS.map((l) => `${l}. ${options[l]}`).join('\n');
}
