import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { DepartmentClassifier } from './classify.ts';
import { loadKnowledgeBase } from './knowledge.ts';
import { buildLexicon } from './lexicon.ts';
import { writePassage } from './passages.ts';
import { HeldOutCombos } from './vignettes.ts';
import { buildWorld } from './world.ts';

const kb = loadKnowledgeBase();
const classifier = new DepartmentClassifier(kb, buildLexicon(kb));

describe('DepartmentClassifier.classify(text)', () => {
  it("files every knowledge-base presentation passage under its condition's departments", () => {
    const world = buildWorld(kb, kb.conditions.length, 0, new Rng(1));
    let agree = 0;
    for (const c of kb.conditions) {
      const { text } = writePassage(
        c,
        'presentation',
        kb,
        world,
        new HeldOutCombos(),
        new Rng(c.id),
      );
      const label = classifier.classify(text);
      if (label.department === c.department && label.subdepartment === c.subdepartment) agree++;
    }
    expect(agree / kb.conditions.length).toBeGreaterThanOrEqual(0.97);
  });

  it('uses department keywords for text that names no condition', () => {
    expect(
      classifier.classify('My knee hurts after a ligament sprain while skiing.'),
    ).toMatchObject({
      department: 'surgery',
      subdepartment: 'orthopedic-surgery',
      via: 'keywords',
    });
    expect(classifier.classify('Acne causes pimples on the skin of teenagers.')).toMatchObject({
      subdepartment: 'dermatology-venereology',
    });
  });

  it('returns Other with no secondary department when nothing matches', () => {
    expect(classifier.classify('The weather was pleasant all week.')).toEqual({
      department: 'other',
      subdepartment: null,
      via: 'none',
    });
  });
});
