import type { Rng } from '../core/rng.ts';
import type { InstructionScores } from './types.ts';

/** Which of two candidate instructions to keep: 1, 2, or 0 for neither. */
export type Pick = 0 | 1 | 2;

/** The rule that decided a selection. */
export type SelectionRule =
  | 'both-mention-details'
  | 'other-mentions-details'
  | 'total'
  | 'quality-plus-difficulty'
  | 'quality'
  | 'random';

/**
 * The paper's selection between the two instructions written for one text (FineMed,
 * `ins_filter.ipynb`): if both mention case details of the text, drop both; if exactly one
 * does, keep the other; otherwise keep the higher quality + difficulty + relevance, then the
 * higher quality + difficulty, then the higher quality, then a coin flip.
 */
export function selectInstruction(
  a: InstructionScores,
  b: InstructionScores,
  rng: Rng,
): { pick: Pick; rule: SelectionRule } {
  if (a.mentionsDetails && b.mentionsDetails) return { pick: 0, rule: 'both-mention-details' };
  if (a.mentionsDetails) return { pick: 2, rule: 'other-mentions-details' };
  if (b.mentionsDetails) return { pick: 1, rule: 'other-mentions-details' };
  const keys: [SelectionRule, (s: InstructionScores) => number][] = [
    ['total', (s) => s.quality + s.difficulty + s.relevance],
    ['quality-plus-difficulty', (s) => s.quality + s.difficulty],
    ['quality', (s) => s.quality],
  ];
  for (const [rule, key] of keys) {
    if (key(a) > key(b)) return { pick: 1, rule };
    if (key(a) < key(b)) return { pick: 2, rule };
  }
  return { pick: rng.random() < 0.5 ? 1 : 2, rule: 'random' };
}

/** The paper's split: difficulty 9-10 is complex, anything lower common. */
export function categoryOf(scores: InstructionScores): 'common' | 'complex' {
  return scores.difficulty >= 9 ? 'complex' : 'common';
}
