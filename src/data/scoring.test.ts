import { describe, expect, it } from 'vitest';
import { loadKnowledgeBase } from './knowledge.ts';
import { buildLexicon } from './lexicon.ts';
import { scoreInstruction } from './scoring.ts';

const lex = buildLexicon(loadKnowledgeBase());
const score = (text: string) => scoreInstruction(text, lex);

describe('scoreInstruction(text, lexicon)', () => {
  it('scores a bare statement 1-2 on quality', () => {
    expect(score('Acute appendicitis symptoms and signs').quality).toBeLessThanOrEqual(2);
  });

  it('scores a clear, specific question high on quality and relevance', () => {
    const r = score(
      'What is the first-line management of acute appendicitis, and which common mistake should be avoided?',
    );
    expect(r.quality).toBeGreaterThanOrEqual(8);
    expect(r.relevance).toBeGreaterThanOrEqual(5);
    expect(r.mentionsDetails).toBe(false);
  });

  it('penalises vague questions', () => {
    expect(score('What is it and what are the symptoms?').quality).toBeLessThan(
      score('What are the symptoms of Graves disease?').quality,
    );
  });

  it('flags questions that lean on the source text', () => {
    expect(score('According to the passage, what did the patient have?').mentionsDetails).toBe(
      true,
    );
    expect(
      score('What diagnosis was reached for the patient described in the passage?').mentionsDetails,
    ).toBe(true);
    expect(score('What is the most likely diagnosis in this 30-year-old?').mentionsDetails).toBe(
      false,
    );
  });

  it('rates a vignette asking for differential reasoning as complex (9-10), a bare recall question as easy', () => {
    const vignette =
      "A 24-year-old man presents with periumbilical pain migrating to the right lower quadrant and loss of appetite. Examination shows tenderness at McBurney's point. Investigations show neutrophil leukocytosis.";
    const reasoning = score(
      `${vignette} What is the most likely diagnosis? Explain step by step how you would rule out Crohn disease and ectopic pregnancy.`,
    );
    const diagnosisOnly = score(`${vignette} What is the most likely diagnosis?`);
    expect(reasoning.difficulty).toBeGreaterThanOrEqual(9);
    expect(diagnosisOnly.difficulty).toBeLessThan(9);
    expect(score('What is gout?').difficulty).toBeLessThanOrEqual(2);
  });

  it("keeps every score in the paper's ranges", () => {
    for (const text of ['', '?', 'why why why why?'.repeat(30), 'Explain.', 'a b c d e f g h']) {
      const r = score(text);
      expect(r.quality).toBeGreaterThanOrEqual(1);
      expect(r.quality).toBeLessThanOrEqual(10);
      expect(r.difficulty).toBeGreaterThanOrEqual(1);
      expect(r.difficulty).toBeLessThanOrEqual(10);
      expect(r.relevance).toBeGreaterThanOrEqual(1);
      expect(r.relevance).toBeLessThanOrEqual(6);
    }
  });
});
