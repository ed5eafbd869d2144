import type { Rng } from '../core/rng.ts';
import type { Condition, KnowledgeBase } from './knowledge.ts';
import { ageText, listJoin, personNoun, pronoun, sentence } from './text.ts';
import { worldLookalikes, type World } from './world.ts';

/** A patient built from one condition's features: what a vignette shows. */
export interface Vignette {
  /** The condition the patient has. */
  conditionId: string;
  /** Age in years (fractions for infants). */
  age: number;
  /** Drawn at random when the condition allows either; sets the noun and pronouns. */
  sex: 'female' | 'male';
  /** Context such as `at 34 weeks of gestation`. */
  setting?: string;
  /** Risk factors mentioned. */
  risks: string[];
  /** Symptoms shown. */
  symptoms: string[];
  /** Examination signs shown. */
  signs: string[];
  /** Investigation findings shown. */
  findings: string[];
  /** Look-alikes whose shared feature and clue the vignette contains (the differential). */
  lookalikeIds: string[];
}

/**
 * Feature sets reserved for evaluation, per condition: no training vignette may show all the
 * features of a reserved set, so an evaluation question's evidence never appears in training.
 */
export class HeldOutCombos {
  private readonly sets = new Map<string, Set<string>[]>();

  /** Reserves the vignette's feature set. */
  add(v: Vignette): void {
    const list = this.sets.get(v.conditionId) ?? [];
    list.push(new Set(vignetteFeatures(v)));
    this.sets.set(v.conditionId, list);
  }

  /** True when `v` shows every feature of some reserved set of its condition. */
  covers(v: Vignette): boolean {
    const shown = new Set(vignetteFeatures(v));
    return (this.sets.get(v.conditionId) ?? []).some((s) => [...s].every((f) => shown.has(f)));
  }
}

/** The symptoms, signs and findings a vignette shows. */
export function vignetteFeatures(v: Vignette): string[] {
  return [...v.symptoms, ...v.signs, ...v.findings];
}

/** Options for {@link planVignette}. */
export interface PlanOptions {
  /** How many look-alikes to build the differential around (fewer if the world has fewer). */
  lookalikes: number;
  /** Total features shown, inclusive range. */
  features: [number, number];
  /** Combos that must not be shown (training), or undefined (evaluation). */
  avoid?: HeldOutCombos;
}

/**
 * Builds a patient for `c`: the shared feature and the clue of each chosen look-alike (so the
 * differential is real and solvable), plus random further features, an age in the condition's
 * band, a sex, and sometimes a risk factor. Returns undefined when every attempt hit an
 * avoided combo.
 */
export function planVignette(
  c: Condition,
  world: World,
  rng: Rng,
  options: PlanOptions,
): Vignette | undefined {
  for (let attempt = 0; attempt < 24; attempt++) {
    const lookalikes = rng.sample(worldLookalikes(c, world), options.lookalikes);
    const chosen = new Set<string>();
    for (const l of lookalikes) chosen.add(l.shared).add(l.clue);
    const [lo, hi] = options.features;
    const target = Math.max(chosen.size, lo + rng.int(hi - lo + 1));
    for (const f of rng.shuffle([...c.symptoms, ...c.signs, ...c.findings])) {
      if (chosen.size >= target) break;
      chosen.add(f);
    }
    if (!c.symptoms.some((f) => chosen.has(f))) chosen.add(rng.pick(c.symptoms));
    const [minAge, maxAge] = c.patient.age;
    const age = minAge + rng.random() * (maxAge - minAge);
    const sex = c.patient.sex === 'any' ? (rng.random() < 0.5 ? 'female' : 'male') : c.patient.sex;
    const v: Vignette = {
      conditionId: c.id,
      age: age >= 2 ? Math.floor(age) : Math.round(age * 1000) / 1000,
      sex,
      ...(c.patient.setting ? { setting: c.patient.setting } : {}),
      risks: rng.random() < 0.6 ? [rng.pick(c.patient.risks)] : [],
      symptoms: rng.shuffle(c.symptoms.filter((f) => chosen.has(f))),
      signs: rng.shuffle(c.signs.filter((f) => chosen.has(f))),
      findings: rng.shuffle(c.findings.filter((f) => chosen.has(f))),
      lookalikeIds: lookalikes.map((l) => l.id),
    };
    if (!options.avoid?.covers(v)) return v;
  }
  return undefined;
}

/** Which template family renders a vignette: training and evaluation never share one. */
export type TemplateFamily = 'train' | 'eval';

type Parts = { who: string; pro: string; sx: string; signs: string; tests: string; risk: string };
type Template = (p: Parts) => string[];

const TRAIN_TEMPLATES: Template[] = [
  (p) => [
    `${p.who} presents with ${p.sx}`,
    p.risk && `${p.pro} has ${p.risk}`,
    p.signs && `Examination shows ${p.signs}`,
    p.tests && `Investigations show ${p.tests}`,
  ],
  (p) => [
    `${p.who} reports ${p.sx}`,
    p.risk && `Background: ${p.risk}`,
    p.signs && `On examination there is ${p.signs}`,
    p.tests && `Tests reveal ${p.tests}`,
  ],
  (p) => [
    `${p.who} is seen because of ${p.sx}`,
    p.signs && `The doctor finds ${p.signs}`,
    p.tests && `Results show ${p.tests}`,
    p.risk && `Known risk factors: ${p.risk}`,
  ],
];

const EVAL_TEMPLATES: Template[] = [
  (p) => [
    `${p.who} is brought to the clinic complaining of ${p.sx}`,
    p.risk && `Past history is notable for ${p.risk}`,
    p.signs && `Physical examination is remarkable for ${p.signs}`,
    p.tests && `Further work-up demonstrates ${p.tests}`,
  ],
  (p) => [
    `${p.who} attends with ${p.sx}`,
    p.risk && `Relevant history includes ${p.risk}`,
    p.signs && `The examining physician notes ${p.signs}`,
    p.tests && `Subsequent studies yield ${p.tests}`,
  ],
];

/** Renders a vignette as prose with one template of the family. */
export function renderVignette(v: Vignette, family: TemplateFamily, rng: Rng): string {
  return renderWithTemplate(v, family, pickTemplate(family, rng));
}

/** Draws a template index of the family (the draw {@link renderVignette} makes). */
export function pickTemplate(family: TemplateFamily, rng: Rng): number {
  return rng.int((family === 'train' ? TRAIN_TEMPLATES : EVAL_TEMPLATES).length);
}

/**
 * Renders a vignette with the family's template `index`, so the same patient can be written
 * again with other feature phrases and nothing else changed.
 */
export function renderWithTemplate(v: Vignette, family: TemplateFamily, index: number): string {
  const template = (family === 'train' ? TRAIN_TEMPLATES : EVAL_TEMPLATES)[index];
  if (!template) throw new RangeError(`no ${family} template ${index}`);
  const who = `A ${ageText(v.age)} ${personNoun(v.age, v.sex)}${v.setting ? ` ${v.setting}` : ''}`;
  const parts: Parts = {
    who,
    pro: pronoun(v.sex),
    sx: listJoin(v.symptoms),
    signs: listJoin(v.signs),
    tests: listJoin(v.findings),
    risk: listJoin(v.risks),
  };
  return template(parts)
    .filter((s) => s)
    .map(sentence)
    .join(' ');
}

/** The look-alike conditions of a vignette, resolved. */
export function vignetteLookalikes(v: Vignette, kb: KnowledgeBase): Condition[] {
  return v.lookalikeIds.map((id) => kb.byId.get(id)!);
}
