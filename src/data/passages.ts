import type { Rng } from '../core/rng.ts';
import { featuresOf, type Condition, type KnowledgeBase } from './knowledge.ts';
import { listJoin, sentence } from './text.ts';
import type { SourceDoc } from './types.ts';
import { planVignette, renderVignette, type HeldOutCombos } from './vignettes.ts';
import { worldLookalikes, type World } from './world.ts';

/** The kinds of textbook passage the knowledge base yields. */
export type PassageKind = 'overview' | 'presentation' | 'differential' | 'management' | 'case';

/** How passages beyond each condition's first two are spread across kinds. */
export const PASSAGE_MIX: ReadonlyArray<[PassageKind, number]> = [
  ['overview', 0.15],
  ['presentation', 0.25],
  ['differential', 0.15],
  ['management', 0.1],
  ['case', 0.35],
];

/**
 * Which passages to write: `counts` per condition; every condition's first passage is a
 * presentation (so its features are always learnable) and its second a case (so it has at
 * least one vignette-style training example); the rest follow {@link PASSAGE_MIX}.
 */
export function planPassages(
  counts: Map<string, number>,
  rng: Rng,
): { conditionId: string; kind: PassageKind }[] {
  const plan: { conditionId: string; kind: PassageKind }[] = [];
  for (const [conditionId, n] of counts) {
    for (let i = 0; i < n; i++) {
      const kind = i === 0 ? 'presentation' : i === 1 ? 'case' : drawKind(rng);
      plan.push({ conditionId, kind });
    }
  }
  return rng.shuffle(plan);
}

function drawKind(rng: Rng): PassageKind {
  let u = rng.random();
  for (const [kind, p] of PASSAGE_MIX) {
    if (u < p) return kind;
    u -= p;
  }
  return 'case';
}

/** Writes one textbook-style passage about `c`. Case passages avoid held-out feature combos. */
export function writePassage(
  c: Condition,
  kind: PassageKind,
  kb: KnowledgeBase,
  world: World,
  heldOut: HeldOutCombos,
  rng: Rng,
): Omit<SourceDoc, 'id'> {
  const base = { origin: 'kb' as const, kind, conditionId: c.id };
  switch (kind) {
    case 'overview':
      return { ...base, text: overview(c, kb, world, rng) };
    case 'presentation':
      return { ...base, text: presentation(c, rng) };
    case 'management':
      return { ...base, text: management(c, rng) };
    case 'differential': {
      const lookalike = rng.pick(
        worldLookalikes(c, world).length ? worldLookalikes(c, world) : c.lookalikes,
      );
      return { ...base, lookalikeId: lookalike.id, text: differential(c, lookalike, kb, rng) };
    }
    case 'case': {
      const vignette = planVignette(c, world, rng, {
        lookalikes: 2,
        features: [4, 6],
        avoid: heldOut,
      });
      if (!vignette) return { ...base, kind: 'presentation', text: presentation(c, rng) };
      const clues = vignette.lookalikeIds.map((id) => {
        const l = c.lookalikes.find((x) => x.id === id)!;
        return sentence(`${l.clue} distinguished it from ${kb.byId.get(id)!.name}`);
      });
      const text = [
        rng.pick(['Clinical example.', 'Case illustration.', 'A typical case.']),
        renderVignette(vignette, 'train', rng),
        sentence(`the diagnosis was ${c.name}`),
        ...clues,
      ].join(' ');
      return { ...base, vignette, text };
    }
  }
}

function overview(c: Condition, kb: KnowledgeBase, world: World, rng: Rng): string {
  const sub = kb.taxonomy.secondaryById.get(c.subdepartment)!;
  const sex =
    c.patient.sex === 'any'
      ? ''
      : c.patient.sex === 'female'
        ? ', mostly women and girls'
        : ', mostly men and boys';
  const confused = worldLookalikes(c, world).map((l) => kb.byId.get(l.id)!.name);
  return [
    sentence(`${c.name} is a condition managed in ${sub.name.toLowerCase()}`),
    sentence(`it most often affects ${ageBand(c.patient.age)}${sex}`),
    sentence(`recognised risk factors include ${listJoin(rng.shuffle([...c.patient.risks]))}`),
    sentence(`its hallmark features are ${listJoin(rng.sample(featuresOf(c), 3))}`),
    ...(confused.length
      ? [sentence(`it is easily confused with ${listJoin(confused, 'or')}`)]
      : []),
  ].join(' ');
}

function presentation(c: Condition, rng: Rng): string {
  const sx = listJoin(rng.shuffle([...c.symptoms]));
  const signs = listJoin(rng.shuffle([...c.signs]));
  const tests = listJoin(rng.shuffle([...c.findings]));
  const [a, b] = rng.sample(featuresOf(c), 2);
  return [
    rng.pick([
      `patients with ${c.name} typically report ${sx}`,
      `the usual symptoms of ${c.name} are ${sx}`,
    ]),
    rng.pick([`on examination, ${signs} may be found`, `examination often reveals ${signs}`]),
    rng.pick([`key investigations show ${tests}`, `investigations typically show ${tests}`]),
    `together, ${a} and ${b} should suggest ${c.name}`,
  ]
    .map(sentence)
    .join(' ');
}

function differential(
  c: Condition,
  l: Condition['lookalikes'][number],
  kb: KnowledgeBase,
  rng: Rng,
): string {
  const other = kb.byId.get(l.id)!;
  const own = new Set(featuresOf(c));
  const theirs = featuresOf(other).filter((f) => !own.has(f));
  return [
    `${c.name} and ${other.name} can both cause ${l.shared}`,
    `${l.clue} points to ${c.name} rather than ${other.name}`,
    `${other.name}, by contrast, is suggested by ${listJoin(rng.sample(theirs, 2))}`,
    rng.pick([
      'missing this distinction is a common source of diagnostic error',
      'the two are managed differently, so the distinction matters',
    ]),
  ]
    .map(sentence)
    .join(' ');
}

function management(c: Condition, rng: Rng): string {
  const confirm = rng.pick(c.findings);
  return [
    `the first-line management of ${c.name} is ${c.management}`,
    `a common error is ${c.wrongChoice.choice}: ${c.wrongChoice.why}`,
    `once ${c.name} is supported by ${confirm}, treatment should not be delayed`,
  ]
    .map(sentence)
    .join(' ');
}

/** An age band in words, e.g. `adults aged 45 to 85` or `infants under one year`. */
export function ageBand([lo, hi]: [number, number]): string {
  if (hi <= 1) return 'infants under one year';
  if (hi <= 12) return `children aged ${Math.max(1, Math.floor(lo))} to ${Math.floor(hi)}`;
  if (lo < 16) return `people aged ${Math.floor(lo)} to ${Math.floor(hi)}`;
  return `adults aged ${Math.floor(lo)} to ${Math.floor(hi)}`;
}
