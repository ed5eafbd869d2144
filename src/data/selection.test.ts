import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { categoryOf, selectInstruction } from './selection.ts';
import type { InstructionScores } from './types.ts';

const s = (
  quality: number,
  difficulty: number,
  relevance: number,
  mentionsDetails = false,
): InstructionScores => ({
  quality,
  difficulty,
  relevance,
  mentionsDetails,
});

describe('selectInstruction(a, b, rng) follows the paper case by case', () => {
  const rng = new Rng(7);
  const cases: [string, InstructionScores, InstructionScores, 0 | 1 | 2, string][] = [
    [
      'both lean on case details: drop both',
      s(10, 10, 6, true),
      s(9, 9, 6, true),
      0,
      'both-mention-details',
    ],
    [
      'only the first does: keep the second, even if worse',
      s(10, 10, 6, true),
      s(2, 2, 1),
      2,
      'other-mentions-details',
    ],
    [
      'only the second does: keep the first',
      s(1, 1, 1),
      s(10, 10, 6, true),
      1,
      'other-mentions-details',
    ],
    ['higher quality + difficulty + relevance wins', s(7, 6, 5), s(8, 6, 3), 1, 'total'],
    ['... whichever side it is on', s(5, 5, 5), s(5, 6, 5), 2, 'total'],
    [
      'tie on the total: quality + difficulty decides',
      s(6, 6, 3),
      s(6, 5, 4),
      1,
      'quality-plus-difficulty',
    ],
    [
      'tie on total and quality + difficulty: quality decides',
      s(8, 4, 4),
      s(7, 5, 4),
      1,
      'quality',
    ],
    ['quality decides for the second too', s(4, 8, 4), s(5, 7, 4), 2, 'quality'],
  ];
  for (const [what, a, b, pick, rule] of cases) {
    it(what, () => {
      expect(selectInstruction(a, b, rng)).toEqual({ pick, rule });
    });
  }

  it('a full tie is a coin flip: both sides win sometimes, reproducibly per seed', () => {
    const flips = (seed: number): number[] => {
      const r = new Rng(seed);
      return Array.from({ length: 40 }, () => selectInstruction(s(6, 6, 4), s(6, 6, 4), r).pick);
    };
    expect(new Set(flips(1))).toEqual(new Set([1, 2]));
    expect(flips(1)).toEqual(flips(1));
    expect(selectInstruction(s(6, 6, 4), s(6, 6, 4), new Rng(3)).rule).toBe('random');
  });
});

describe('categoryOf(scores)', () => {
  it('difficulty 9-10 is complex, below is common', () => {
    expect(categoryOf(s(5, 9, 5))).toBe('complex');
    expect(categoryOf(s(5, 10, 5))).toBe('complex');
    expect(categoryOf(s(5, 8, 5))).toBe('common');
  });
});
