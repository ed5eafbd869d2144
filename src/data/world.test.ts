import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { loadKnowledgeBase } from './knowledge.ts';
import {
  allocate,
  buildWorld,
  chooseWorld,
  frequencyTiers,
  frequencyWeights,
  worldLookalikes,
} from './world.ts';

const kb = loadKnowledgeBase();

describe('chooseWorld(kb, count, rng)', () => {
  it('spreads the world over every primary department and gives conditions look-alikes inside it', () => {
    for (const seed of [1, 2, 3, 4]) {
      const conditions = chooseWorld(kb, 60, new Rng(seed));
      expect(conditions).toHaveLength(60);
      expect(new Set(conditions.map((c) => c.department)).size).toBe(6);
      const world = buildWorld(kb, 60, 1, new Rng(seed));
      const alone = world.conditions.filter((c) => worldLookalikes(c, world).length === 0);
      expect(alone.length, `seed ${seed}`).toBeLessThanOrEqual(1);
    }
  });

  it('is the whole knowledge base when asked for all of it', () => {
    expect(chooseWorld(kb, 1000, new Rng(1))).toHaveLength(kb.conditions.length);
  });
});

describe('frequencyWeights / allocate / frequencyTiers', () => {
  const conditions = kb.conditions.slice(0, 30);

  it('makes a long tail whose steepness is the skew', () => {
    const flat = [...frequencyWeights(conditions, 0, new Rng(1)).values()];
    const steep = [...frequencyWeights(conditions, 1.5, new Rng(1)).values()];
    expect(Math.max(...flat)).toBeCloseTo(Math.min(...flat), 12);
    expect(Math.max(...steep) / Math.min(...steep)).toBeGreaterThan(100);
    expect(steep.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('allocates exactly the total with a floor per condition', () => {
    const counts = allocate(frequencyWeights(conditions, 1, new Rng(2)), 500, 3);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(500);
    expect(Math.min(...counts.values())).toBeGreaterThanOrEqual(3);
    expect(
      [...allocate(frequencyWeights(conditions, 1, new Rng(2)), 10, 2).values()].every(
        (x) => x === 2,
      ),
    ).toBe(true);
  });

  it('splits conditions into thirds by training count', () => {
    const tiers = frequencyTiers(
      new Map([
        ['a', 1],
        ['b', 5],
        ['c', 9],
        ['d', 2],
        ['e', 7],
        ['f', 3],
      ]),
    );
    expect([...tiers.entries()].sort()).toEqual([
      ['a', 'rare'],
      ['b', 'medium'],
      ['c', 'frequent'],
      ['d', 'rare'],
      ['e', 'frequent'],
      ['f', 'medium'],
    ]);
  });
});
