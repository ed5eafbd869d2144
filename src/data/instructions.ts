import type { Rng } from '../core/rng.ts';
import { featuresOf, type Condition, type KnowledgeBase } from './knowledge.ts';
import { buildOptions, formatOptions } from './mcq.ts';
import type { PassageKind } from './passages.ts';
import { listJoin } from './text.ts';
import type { Candidate, InstructionFacts, SourceDoc } from './types.ts';
import {
  planVignette,
  renderVignette,
  vignetteFeatures,
  vignetteLookalikes,
  type HeldOutCombos,
  type Vignette,
} from './vignettes.ts';
import { worldLookalikes, type World } from './world.ts';

interface Context {
  doc: SourceDoc;
  c: Condition;
  kb: KnowledgeBase;
  world: World;
  heldOut: HeldOutCombos;
  rng: Rng;
}

type Builder = (x: Context) => Candidate | undefined;

const features: Builder = ({ c, rng }) => ({
  text: rng.pick([
    `What are the typical symptoms, examination signs and investigation findings of ${c.name}?`,
    `Describe how ${c.name} usually presents, including examination and test findings.`,
  ]),
  facts: { ask: 'features', conditionId: c.id },
});

/** Findings for a question about `c`: the clue and shared finding of each look-alike, then others, up to `n`. */
function findingsFor(
  c: Condition,
  lookalikes: Condition['lookalikes'],
  n: number,
  rng: Rng,
): string[] {
  const shown = new Set<string>();
  for (const l of lookalikes) shown.add(l.clue).add(l.shared);
  for (const f of rng.shuffle(featuresOf(c))) if (shown.size < n) shown.add(f);
  return rng.shuffle([...shown]);
}

const identify: Builder = ({ c, world, rng }) => {
  const ls = worldLookalikes(c, world).length ? worldLookalikes(c, world) : c.lookalikes;
  const shown = findingsFor(c, [rng.pick(ls)], 3, rng);
  const list = listJoin(shown);
  return {
    text: rng.pick([
      `Which condition is suggested by ${list}?`,
      `What diagnosis do ${list} point to?`,
    ]),
    facts: { ask: 'identify', conditionId: c.id, shown },
  };
};

const risks: Builder = ({ c, rng }) => ({
  text: rng.pick([
    `Who is typically affected by ${c.name}, and what are its main risk factors?`,
    `Which patients are at risk of ${c.name}?`,
  ]),
  facts: { ask: 'risks', conditionId: c.id },
});

const management: Builder = ({ c, rng }) => ({
  text: rng.pick([
    `What is the first-line management of ${c.name}, and which common mistake should be avoided?`,
    `How should ${c.name} be treated first, and what should be avoided?`,
    `Why is ${c.wrongChoice.choice} a mistake in ${c.name}, and what should be done instead?`,
  ]),
  facts: { ask: 'management', conditionId: c.id },
});

const distinguish: Builder = ({ doc, c, kb, rng }) => {
  const l = c.lookalikes.find((x) => x.id === doc.lookalikeId) ?? rng.pick(c.lookalikes);
  const other = kb.byId.get(l.id)!.name;
  return {
    text: rng.pick([
      `How can ${c.name} be told apart from ${other} when a patient presents with ${l.shared}?`,
      `Which finding points to ${c.name} rather than ${other}?`,
    ]),
    facts: { ask: 'distinguish', conditionId: c.id, lookalikeIds: [l.id] },
  };
};

const mcq: Builder = ({ c, kb, world, rng }) => {
  const ls = rng.sample(worldLookalikes(c, world), 2);
  const shown = findingsFor(c, ls, 4, rng);
  const set = buildOptions(
    c,
    ls.map((l) => kb.byId.get(l.id)!),
    world,
    rng,
  );
  return {
    text: `Which of the following best explains ${listJoin(shown)}?\n${formatOptions(set.options)}`,
    facts: {
      ask: 'mcq',
      conditionId: c.id,
      shown,
      lookalikeIds: ls.map((l) => l.id),
      options: set.options,
      answerIdx: set.answerIdx,
    },
  };
};

/** The case passage's own patient, or a fresh one for other passages. */
function patient(x: Context): Vignette | undefined {
  return (
    x.doc.vignette ??
    planVignette(x.c, x.world, x.rng, { lookalikes: 2, features: [4, 6], avoid: x.heldOut })
  );
}

/**
 * A question about a patient: the vignette in a training template followed by `ask`, which
 * returns the question's tail and any extra facts (such as options).
 */
function aboutPatient(
  kind: 'differential' | 'diagnosis' | 'mcq',
  ask: (v: Vignette, x: Context) => { tail: string; facts?: Partial<InstructionFacts> },
): Builder {
  return (x) => {
    const v = patient(x);
    if (!v) return undefined;
    const { tail, facts } = ask(v, x);
    return {
      text: `${renderVignette(v, 'train', x.rng)} ${tail}`,
      facts: {
        ask: kind,
        conditionId: x.c.id,
        vignette: v,
        lookalikeIds: v.lookalikeIds,
        shown: vignetteFeatures(v),
        ...facts,
      },
    };
  };
}

const differential = aboutPatient('differential', (v, x) => {
  const names = vignetteLookalikes(v, x.kb).map((l) => l.name);
  return {
    tail: names.length
      ? `What is the most likely diagnosis? Explain step by step how you would rule out ${listJoin(names)}.`
      : 'Work through the differential diagnosis and explain which condition is most likely.',
  };
});

const sloppyDifferential = aboutPatient('differential', () => ({
  tail: 'what is the most likely diagnosis and why not the others',
}));

const diagnosis = aboutPatient('diagnosis', (_v, x) => ({
  tail: x.rng.pick([
    'What is the most likely diagnosis?',
    'Which condition best accounts for this presentation?',
  ]),
}));

const vignetteMcq = aboutPatient('mcq', (v, x) => {
  const set = buildOptions(x.c, vignetteLookalikes(v, x.kb), x.world, x.rng);
  return {
    tail: `Which diagnosis fits best?\n${formatOptions(set.options)}`,
    facts: { options: set.options, answerIdx: set.answerIdx },
  };
});

const vague: Builder = ({ c, rng }) => ({
  text: rng.pick([
    'What is it and what are the symptoms?',
    'How is this treated?',
    `${c.name} symptoms and signs`,
  ]),
  facts: { ask: 'vague', conditionId: c.id },
});

const recallDiagnosis: Builder = ({ c, rng }) => ({
  text: rng.pick([
    'According to the passage, what did the patient have?',
    'What diagnosis was reached for the patient described in the passage?',
  ]),
  facts: { ask: 'recall', conditionId: c.id },
});

const recallFindings: Builder = ({ c, rng }) => ({
  text: rng.pick([
    'Which findings are described in the text?',
    'What did the case report in the text show?',
  ]),
  facts: { ask: 'recall', conditionId: c.id },
});

const POOLS: Record<PassageKind, [Builder, number][]> = {
  overview: [
    [risks, 3],
    [features, 2],
    [identify, 2],
    [mcq, 1],
    [vague, 1],
    [recallFindings, 0.5],
    [recallDiagnosis, 0.5],
  ],
  presentation: [
    [features, 3],
    [identify, 3],
    [mcq, 2],
    [risks, 1],
    [vague, 1],
    [recallFindings, 0.5],
    [recallDiagnosis, 0.5],
  ],
  differential: [
    [distinguish, 4],
    [identify, 1],
    [vague, 1],
    [recallFindings, 0.5],
    [recallDiagnosis, 0.5],
  ],
  management: [
    [management, 4],
    [vague, 1],
    [recallFindings, 0.5],
    [recallDiagnosis, 0.5],
  ],
  case: [
    [differential, 4],
    [sloppyDifferential, 1.5],
    [diagnosis, 2],
    [vignetteMcq, 1],
    [recallFindings, 1],
    [recallDiagnosis, 1],
  ],
};

/**
 * Two candidate instructions for a knowledge-base passage, drawn without replacement from a
 * pool of question styles for its kind. The pools mix good questions with flawed ones (vague,
 * statement-like, sloppy, or pointing at the passage) so that scoring and selection have real
 * work to do.
 */
export function kbCandidates(
  doc: SourceDoc,
  kb: KnowledgeBase,
  world: World,
  heldOut: HeldOutCombos,
  rng: Rng,
): [Candidate, Candidate] {
  const c = kb.byId.get(doc.conditionId!)!;
  const pool = [...POOLS[doc.kind as PassageKind]];
  const out: Candidate[] = [];
  while (out.length < 2 && pool.length > 0) {
    const total = pool.reduce((s, [, w]) => s + w, 0);
    let u = rng.random() * total;
    const i = pool.findIndex(([, w]) => (u -= w) < 0);
    const [build] = pool.splice(i < 0 ? pool.length - 1 : i, 1)[0];
    const candidate = build({ doc, c, kb, world, heldOut, rng });
    if (candidate) out.push(candidate);
  }
  while (out.length < 2) out.push(features({ doc, c, kb, world, heldOut, rng })!);
  return [out[0], out[1]];
}
