import { describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.ts';
import { loadDepartments } from './departments.ts';
import {
  buildKnowledgeBase,
  featuresOf,
  loadKnowledgeBase,
  MIN_FEATURES,
  type KnowledgeFile,
} from './knowledge.ts';

const taxonomy = loadDepartments();

function condition(id: string, lookalikes: string[], extra: Record<string, unknown> = {}): unknown {
  return {
    id,
    name: id.replace(/-/g, ' '),
    subdepartment: 'cardiology',
    patient: { age: [40, 70], sex: 'any', risks: ['smoking'] },
    symptoms: [`${id} symptom one`, `${id} symptom two`],
    signs: [`${id} sign one`, `${id} sign two`],
    findings: [`${id} finding one`, `${id} finding two`],
    management: 'rest',
    wrongChoice: { choice: 'nothing', kind: 'action', why: 'it does not help' },
    lookalikes: lookalikes.map((l) => ({
      id: l,
      shared: `${id} symptom one`,
      clue: `${id} finding one`,
    })),
    ...extra,
  };
}

function files(...conditions: unknown[]): KnowledgeFile[] {
  return [{ file: 'test.json', data: { department: 'internal-medicine', conditions } }];
}

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('loadKnowledgeBase()', () => {
  const kb = loadKnowledgeBase();

  it('holds at least 150 conditions across all 6 primary departments', () => {
    expect(kb.conditions.length).toBeGreaterThanOrEqual(150);
    const primaries = new Set(kb.conditions.map((c) => c.department));
    expect([...primaries].sort()).toEqual(taxonomy.primary.map((p) => p.id).sort());
    const secondaries = new Set(kb.conditions.map((c) => c.subdepartment));
    expect(secondaries.size).toBeGreaterThanOrEqual(25);
  });

  it('has unique ids, valid departments and look-alikes that exist', () => {
    expect(new Set(kb.conditions.map((c) => c.id)).size).toBe(kb.conditions.length);
    for (const c of kb.conditions) {
      expect(taxonomy.secondaryById.get(c.subdepartment)?.primaryId).toBe(c.department);
      expect(c.lookalikes.length).toBeGreaterThanOrEqual(2);
      for (const l of c.lookalikes) {
        expect(kb.byId.has(l.id), `${c.id} -> ${l.id}`).toBe(true);
        expect(featuresOf(c)).toContain(l.shared);
        expect(featuresOf(c)).toContain(l.clue);
      }
    }
  });

  it('gives every condition enough features to build vignettes', () => {
    for (const c of kb.conditions) {
      expect(featuresOf(c).length).toBeGreaterThanOrEqual(MIN_FEATURES);
      expect(c.symptoms.length).toBeGreaterThanOrEqual(2);
    }
  });
});

describe('buildKnowledgeBase(files, taxonomy)', () => {
  it('accepts a small valid base', () => {
    const kb = buildKnowledgeBase(
      files(
        condition('alpha', ['beta', 'gamma']),
        condition('beta', ['alpha', 'gamma']),
        condition('gamma', ['alpha', 'beta']),
      ),
      taxonomy,
    );
    expect(kb.conditions.map((c) => c.department)).toEqual(Array(3).fill('internal-medicine'));
  });

  it('names the condition and field of a look-alike that does not exist', () => {
    const error = errorOf(() =>
      buildKnowledgeBase(
        files(condition('alpha', ['beta', 'nope']), condition('beta', ['alpha', 'alpha2'])),
        taxonomy,
      ),
    );
    expect(error.file).toBe('test.json');
    expect(error.field).toBe('conditions[0] (alpha).lookalikes[1].id');
    expect(error.message).toContain("look-alike 'nope' is not in the knowledge base");
  });

  it('names the condition and field of a schema error', () => {
    const broken = condition('alpha', ['beta', 'gamma'], { signs: 'not a list' });
    const error = errorOf(() => buildKnowledgeBase(files(broken), taxonomy));
    expect(error.field).toBe('conditions[0] (alpha).signs');
  });

  it("rejects a clue that is not one of the condition's features", () => {
    const c = condition('alpha', ['beta', 'gamma']) as { lookalikes: { clue: string }[] };
    c.lookalikes[0].clue = 'something else';
    const error = errorOf(() =>
      buildKnowledgeBase(
        files(c, condition('beta', ['alpha', 'gamma']), condition('gamma', ['alpha', 'beta'])),
        taxonomy,
      ),
    );
    expect(error.field).toBe('conditions[0] (alpha).lookalikes[0].clue');
  });

  it('rejects a sub-department of another primary department and duplicate ids', () => {
    const wrongDept = condition('alpha', ['beta', 'gamma'], { subdepartment: 'urology' });
    expect(errorOf(() => buildKnowledgeBase(files(wrongDept), taxonomy)).field).toBe(
      'conditions[0] (alpha).subdepartment',
    );
    const dup = errorOf(() =>
      buildKnowledgeBase(
        files(condition('alpha', ['beta', 'gamma']), condition('alpha', ['beta', 'gamma'])),
        taxonomy,
      ),
    );
    expect(dup.message).toContain("duplicate condition id 'alpha'");
  });

  it('rejects a condition with too few features for vignettes', () => {
    const thin = condition('alpha', ['beta', 'gamma'], {
      signs: ['one sign'],
      findings: ['one finding'],
    });
    expect(errorOf(() => buildKnowledgeBase(files(thin), taxonomy)).message).toContain(
      `at least ${MIN_FEATURES} features`,
    );
  });
});
