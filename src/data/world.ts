import type { Rng } from '../core/rng.ts';
import type { Condition, KnowledgeBase } from './knowledge.ts';

/** How often a condition appears in training, relative to the others. */
export type FrequencyTier = 'rare' | 'medium' | 'frequent';

/** The slice of the knowledge base one synthesis run works with, and how often each condition appears. */
export interface World {
  /** The conditions in play, in knowledge-base order. */
  conditions: Condition[];
  /** Ids of the conditions in play. */
  ids: Set<string>;
  /** Relative training frequency of each condition (sums to 1). */
  weight: Map<string, number>;
}

/**
 * Picks `count` conditions so that look-alikes travel together and departments stay balanced:
 * departments take turns, each turn adding one new condition with its look-alikes (and, for a
 * look-alike that would otherwise have none in the world, one of its own). Conditions left
 * without any look-alike in the world are swapped out, so every condition has a differential
 * to reason about and a look-alike for DPO's anchored answers (where the knowledge base allows).
 */
export function chooseWorld(kb: KnowledgeBase, count: number, rng: Rng): Condition[] {
  const n = Math.min(Math.max(2, Math.floor(count)), kb.conditions.length);
  const byDepartment = new Map<string, Condition[]>();
  for (const c of kb.conditions)
    byDepartment.set(c.department, [...(byDepartment.get(c.department) ?? []), c]);
  const pools = [...byDepartment.values()].map((list) => rng.shuffle([...list]));
  const chosen = new Set<string>();
  const banned = new Set<string>();
  const partners = (id: string): number =>
    kb.byId.get(id)!.lookalikes.filter((l) => chosen.has(l.id)).length;
  const add = (id: string): void => {
    if (chosen.size < n && !banned.has(id)) chosen.add(id);
  };
  for (let round = 0; round < 8; round++) {
    for (let turn = 0, idle = 0; chosen.size < n && idle < pools.length; turn++) {
      const seed = pools[turn % pools.length].find((c) => !chosen.has(c.id) && !banned.has(c.id));
      if (!seed) {
        idle++;
        continue;
      }
      idle = 0;
      add(seed.id);
      for (const id of rng.shuffle(seed.lookalikes.map((l) => l.id))) {
        add(id);
        if (chosen.has(id) && partners(id) === 0) add(kb.byId.get(id)!.lookalikes[0].id);
      }
    }
    const orphans = [...chosen].filter((id) => partners(id) === 0);
    if (orphans.length === 0) break;
    for (const id of orphans) {
      chosen.delete(id);
      banned.add(id);
    }
  }
  for (const c of kb.conditions) if (chosen.size < n) chosen.add(c.id);
  return kb.conditions.filter((c) => chosen.has(c.id));
}

/**
 * A long-tailed (Zipf) frequency over the world's conditions: the condition at random rank r
 * gets weight 1 / r^skew. `skew` 0 makes all equal; 1-1.5 leaves a tail of rare conditions.
 */
export function frequencyWeights(
  conditions: Condition[],
  skew: number,
  rng: Rng,
): Map<string, number> {
  const order = rng.shuffle(conditions.map((c) => c.id));
  const raw = order.map((_, r) => 1 / Math.pow(r + 1, skew));
  const total = raw.reduce((a, b) => a + b, 0);
  return new Map(order.map((id, r) => [id, raw[r] / total]));
}

/** Builds a world: `count` conditions and their frequency weights. */
export function buildWorld(kb: KnowledgeBase, count: number, skew: number, rng: Rng): World {
  const conditions = chooseWorld(kb, count, rng.fork('choose'));
  return {
    conditions,
    ids: new Set(conditions.map((c) => c.id)),
    weight: frequencyWeights(conditions, skew, rng.fork('frequency')),
  };
}

/**
 * Splits `total` items across ids in proportion to their weights (largest remainder), giving
 * every id at least `min`. The result sums to max(total, min * ids).
 */
export function allocate(
  weights: Map<string, number>,
  total: number,
  min: number,
): Map<string, number> {
  const ids = [...weights.keys()];
  const spare = Math.max(0, total - min * ids.length);
  const exact = ids.map((id) => weights.get(id)! * spare);
  const counts = exact.map((x) => Math.floor(x));
  let left = spare - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((x, i) => ({ i, r: x - Math.floor(x) }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    counts[i]++;
    left--;
  }
  return new Map(ids.map((id, i) => [id, counts[i] + min]));
}

/** Tiers by training count: the bottom third of conditions are `rare`, the top third `frequent`. */
export function frequencyTiers(counts: Map<string, number>): Map<string, FrequencyTier> {
  const sorted = [...counts.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  const third = sorted.length / 3;
  return new Map(
    sorted.map(([id], i) => [id, i < third ? 'rare' : i < 2 * third ? 'medium' : 'frequent']),
  );
}

/** A condition's look-alikes that are inside the world. */
export function worldLookalikes(c: Condition, world: World): Condition['lookalikes'] {
  return c.lookalikes.filter((l) => world.ids.has(l.id));
}
