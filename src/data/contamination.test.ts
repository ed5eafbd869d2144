import { describe, expect, it } from 'vitest';
import { checkContamination } from './contamination.ts';

const question =
  'A 61-year-old man has decreased urinary output and malaise two weeks after a cardiac catheterization, with mottled purplish discoloration of the feet and eosinophils in the blood. Which of the following is the most likely cause?';
const train = [
  'Cholesterol embolization can follow arterial catheterization and may cause kidney injury.',
  'Patients with renal papillary necrosis often have a history of analgesic use and sickle cell disease.',
];

describe('checkContamination(train, evalItems)', () => {
  it('passes clean data and reports the longest shared word run', () => {
    const { report, items } = checkContamination(train, [{ id: 'q1', text: question }]);
    expect(report.passed).toBe(true);
    expect(items[0].shared).toBe(0);
    // Only single words (such as "catheterization") occur in both.
    expect(items[0].longest).toBe(1);
  });

  it('catches a planted leak: an evaluation question copied into training', () => {
    const leaky = [...train, `Practice question. ${question} Answer: cholesterol embolization.`];
    const { report, items } = checkContamination(leaky, [
      { id: 'q1', text: question },
      { id: 'q2', text: 'What causes gout attacks in older men?' },
    ]);
    expect(report.passed).toBe(false);
    expect(report.leaks.map((l) => l.id)).toEqual(['q1']);
    expect(items[0].ratio).toBe(1);
    expect(items[0].longest).toBe(items[0].ngrams + 12);
    expect(items[1].shared).toBe(0);
  });

  it('catches a leak hidden by different case and punctuation, and a partial copy over the threshold', () => {
    const half = question.split(' ').slice(0, 24).join(' ').toUpperCase().replace(/,/g, ';');
    const { items } = checkContamination([half], [{ id: 'q1', text: question }], {
      threshold: 0.3,
    });
    expect(items[0].longest).toBe(24);
    expect(items[0].shared).toBe(24 - 12);
    expect(items[0].ratio).toBeGreaterThan(0.3);
  });

  it("splits items by GPT-3's rule: one shared 13-gram makes an item dirty, below any leak threshold", () => {
    // 13 words of the 40-word question are copied: one shared 13-gram out of 28.
    const copied = question.split(' ').slice(10, 23).join(' ');
    const { report, items } = checkContamination(
      [...train, `Unrelated notes mention ${copied} in passing.`],
      [
        { id: 'dirty', text: question },
        {
          id: 'clean',
          text: 'What causes gout attacks in older men after a large meal and alcohol?',
        },
      ],
    );
    expect(items[0].shared).toBe(1);
    expect(report.passed).toBe(true);
    expect(report.dirty).toEqual(['dirty']);
    expect(report.itemsWithSharedNgram).toBe(1);
  });

  it('measures the longest shared run below 13 words exactly', () => {
    const { items } = checkContamination(
      ['the quick brown fox jumps over the lazy dog'],
      [{ id: 'x', text: 'a very quick brown fox jumps high' }],
    );
    expect(items[0].longest).toBe(4);
    expect(items[0].ngrams).toBe(0);
  });
});
