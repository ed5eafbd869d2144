import { labelOf, type DepartmentLabel } from './departments.ts';
import type { KnowledgeBase } from './knowledge.ts';
import { distinctFeatures, PhraseIndex, type Lexicon } from './lexicon.ts';
import { words } from './text.ts';

/** A department label and what it was based on. */
export interface Classification extends DepartmentLabel {
  /** The knowledge-base condition the text was matched to, if any. */
  conditionId?: string;
  /** `condition` (names and features of a condition), `keywords` (department keywords) or `none`. */
  via: 'condition' | 'keywords' | 'none';
}

/**
 * A rule-based department classifier consistent with the knowledge base. A text that names a
 * condition or shows its features is filed under that condition's department (each naming
 * counts 2, up to twice; each feature phrase 1 for every condition that has it); otherwise
 * under the secondary department whose keywords it mentions most (primary-department
 * keywords count half toward each of their secondaries); otherwise Other with no secondary.
 */
export class DepartmentClassifier {
  private readonly keywords = new PhraseIndex<{ id: string; weight: number }[]>();

  constructor(
    private readonly kb: KnowledgeBase,
    private readonly lex: Lexicon,
  ) {
    for (const p of kb.taxonomy.primary) {
      const all = p.secondary.map((s) => ({ id: s.id, weight: 0.5 }));
      for (const k of p.keywords) this.keywords.add(k, all);
      for (const s of p.secondary)
        for (const k of s.keywords) this.keywords.add(k, [{ id: s.id, weight: 1 }]);
    }
  }

  /** Labels a text (an instruction, optionally followed by its answer). */
  classify(text: string): Classification {
    const tokens = words(text);
    const score = new Map<string, number>();
    const add = (m: Map<string, number>, id: string, x: number): void => {
      m.set(id, (m.get(id) ?? 0) + x);
    };
    const named = new Map<string, number>();
    for (const hit of this.lex.names.find(tokens)) add(named, hit.value, 1);
    for (const [id, n] of named) add(score, id, 2 * Math.min(2, n));
    for (const owners of distinctFeatures(this.lex, tokens))
      for (const id of owners) add(score, id, 1);
    const best = argmax(score);
    if (best && score.get(best)! >= 2) {
      return {
        ...labelOf(this.kb.taxonomy, this.kb.byId.get(best)!.subdepartment),
        conditionId: best,
        via: 'condition',
      };
    }
    const votes = new Map<string, number>();
    for (const hit of this.keywords.find(tokens))
      for (const { id, weight } of hit.value) add(votes, id, weight);
    const sub = argmax(votes);
    if (sub && votes.get(sub)! >= 1) return { ...labelOf(this.kb.taxonomy, sub), via: 'keywords' };
    if (sub)
      return {
        department: this.kb.taxonomy.secondaryById.get(sub)!.primaryId,
        subdepartment: null,
        via: 'keywords',
      };
    return { department: 'other', subdepartment: null, via: 'none' };
  }
}

/** The key with the highest value; ties go to the key inserted first. */
function argmax(m: Map<string, number>): string | undefined {
  let best: string | undefined;
  for (const [k, v] of m) if (best === undefined || v > m.get(best)!) best = k;
  return best;
}
