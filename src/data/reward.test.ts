import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { CAREFUL, directAnswer } from './answers.ts';
import { loadKnowledgeBase } from './knowledge.ts';
import { buildLexicon } from './lexicon.ts';
import { expectedCondition, rewardAnswer } from './reward.ts';
import { buildWorld } from './world.ts';

const kb = loadKnowledgeBase();
const lex = buildLexicon(kb);
const reward = (q: string, a: string): number => rewardAnswer(q, a, kb, lex);

describe('rewardAnswer(question, answer)', () => {
  const q =
    "Which condition is suggested by negative pregnancy test, tenderness at McBurney's point and loss of appetite?";

  it('infers the condition a question is about from its findings', () => {
    expect(expectedCondition(q, kb, lex)?.id).toBe('acute-appendicitis');
  });

  it('prefers the right diagnosis over a look-alike', () => {
    const right =
      'These features point to acute appendicitis. Negative pregnancy test favours it over ectopic pregnancy.';
    const wrong =
      'These features point to ectopic pregnancy. Negative pregnancy test favours it over acute appendicitis.';
    expect(reward(q, right)).toBeGreaterThan(reward(q, wrong));
  });

  it('penalises recommending the known wrong choice', () => {
    const mq =
      'What is the first-line management of pre-eclampsia, and which common mistake should be avoided?';
    const good =
      'First-line management of pre-eclampsia is antihypertensives such as labetalol, magnesium sulfate for seizure prevention, and planned delivery. Avoid an ACE inhibitor, because ACE inhibitors harm the fetal kidneys.';
    const bad =
      'An ACE inhibitor is a reasonable first step in pre-eclampsia. It can be followed by planned delivery.';
    expect(reward(mq, good)).toBeGreaterThan(reward(mq, bad));
  });

  it("rewards covering more of the condition's features and penalises a look-alike's", () => {
    const fq =
      'What are the typical symptoms, examination signs and investigation findings of gout?';
    const full =
      'Acute gout typically presents with sudden severe pain in the big toe overnight. Examination may show hot red swollen first toe joint, and investigations show raised serum urate.';
    const thin = 'Acute gout typically presents with sudden severe pain in the big toe overnight.';
    const drifted = 'Acute gout typically presents with organisms on Gram stain of joint fluid.';
    expect(reward(fq, full)).toBeGreaterThan(reward(fq, thin));
    expect(reward(fq, thin)).toBeGreaterThan(reward(fq, drifted));
  });

  it('scores careful answers above erroneous ones most of the time', () => {
    const world = buildWorld(kb, 40, 0, new Rng(2));
    let wins = 0;
    let trials = 0;
    for (const c of world.conditions) {
      const facts = { ask: 'identify' as const, conditionId: c.id };
      const question = `Which condition is suggested by ${c.lookalikes[0].clue}, ${c.symptoms[0]} and ${c.signs[0]}?`;
      const good = directAnswer(facts, kb, world, { ...CAREFUL, errorRate: 0 }, new Rng(c.id));
      const bad = directAnswer(facts, kb, world, { ...CAREFUL, errorRate: 1 }, new Rng(c.id));
      trials++;
      if (reward(question, good.text) > reward(question, bad.text)) wins++;
    }
    expect(wins / trials).toBeGreaterThanOrEqual(0.9);
  });
});
