import { describe, expect, it } from 'vitest';
import { extractAnswer, type ExtractionRule } from './extract.ts';

const MEDQA = [
  'Renal papillary necrosis',
  'Cholesterol embolization',
  'Eosinophilic granulomatosis with polyangiitis',
  'Polyarteritis nodosa',
];
const PUBMEDQA = ['yes', 'no', 'maybe'];
const VITAMINS = ['Vitamin A', 'Vitamin B', 'Vitamin B12', 'Vitamin C'];
const TEN = 'ABCDEFGHIJ'.split('').map((l) => `choice ${l}`);

// [reply, options, expected letter (or null when unparseable), rule]
const cases: [string, string[], string | null, ExtractionRule][] = [
  ['The answer is (B).', MEDQA, 'B', 'answer-is'],
  [
    "Let's think step by step. Livedo reticularis and eosinophilia after catheterization suggest emboli. Therefore, the answer is (B) Cholesterol embolization.",
    MEDQA,
    'B',
    'answer-is',
  ],
  ['Answer: C', MEDQA, 'C', 'answer-is'],
  ['**Answer:** D. Polyarteritis nodosa', MEDQA, 'D', 'answer-is'],
  ['The correct answer is **B. Cholesterol embolization**', MEDQA, 'B', 'answer-is'],
  ['Final answer: A) Renal papillary necrosis', MEDQA, 'A', 'answer-is'],
  ['Answer: (a)', MEDQA, 'A', 'answer-is'],
  ['The best answer choice is C because the vasculitis fits.', MEDQA, 'C', 'answer-is'],
  ['I first thought the answer is A, but on reflection the answer is D.', MEDQA, 'D', 'answer-is'],
  [
    '## Thought\nOption A is unlikely without analgesic abuse. Option C needs asthma.\n## Summarization\nThe findings point to cholesterol emboli; the answer is B.',
    MEDQA,
    'B',
    'answer-is',
  ],
  ['<think>Maybe the answer is (C)... no.</think>\nThe answer is (B).', MEDQA, 'B', 'answer-is'],
  ['The answer is maybe', PUBMEDQA, 'C', 'answer-is'],
  ['answer is: Vitamin B12', VITAMINS, 'C', 'answer-is'],
  [
    "A: Let's think step by step. Tobacco mosaic virus was first. The answer is (I).",
    TEN,
    'I',
    'answer-is',
  ],
  ['$\\boxed{D}$', MEDQA, 'D', 'boxed'],
  ['After reviewing each option, B is the correct one.', MEDQA, 'B', 'is-correct'],
  ['**C**', MEDQA, 'C', 'bold'],
  ['B', MEDQA, 'B', 'leading-letter'],
  ['(C)', MEDQA, 'C', 'leading-letter'],
  ['B. Cholesterol embolization', MEDQA, 'B', 'leading-letter'],
  ['I would pick (D) here.', MEDQA, 'D', 'parenthesised'],
  ['Cholesterol embolization', MEDQA, 'B', 'option-text'],
  [
    'A 61-year-old man with livedo after catheterization most likely has cholesterol embolization.',
    MEDQA,
    'B',
    'option-text',
  ],
  ['Yes. The trial showed a 6 mmHg fall in systolic pressure.', PUBMEDQA, 'A', 'option-text'],
  ['No, supplement use did not differ.', PUBMEDQA, 'B', 'option-text'],
  ['Nothing in the abstract settles it.', PUBMEDQA, null, 'none'],
  ["I'm not sure; it could be several things.", MEDQA, null, 'none'],
  ['The answer is (E).', MEDQA, null, 'none'],
  ['The answer is a direct consequence of the procedure.', MEDQA, null, 'none'],
  ['**A.** is plausible, **B.** is also plausible.', MEDQA, null, 'none'],
  ['Either (A) or (C) could fit.', MEDQA, null, 'none'],
  [
    'A. Renal papillary necrosis: unlikely.\nB. Cholesterol embolization: possible.',
    MEDQA,
    null,
    'none',
  ],
];

describe('extractAnswer(reply, options)', () => {
  it.each(cases.map(([reply, options, letter, rule]) => [reply, letter, rule, options] as const))(
    '%j -> %s by %s',
    (reply, letter, rule, options) => {
      const expected = letter === null ? undefined : letter.charCodeAt(0) - 65;
      expect(extractAnswer(reply, options)).toEqual({ index: expected, rule });
    },
  );
});
