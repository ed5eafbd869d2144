import { choiceLoader } from './choice.ts';
import { BadRecord, letterIndex, optionLetter, optionalString } from './common.ts';

/**
 * MMLU-Pro JSON Lines or JSON array: `{question_id, question, options: [3..10 strings],
 * answer: "E", answer_index: 4, cot_content, category, src}`. Either answer field suffices;
 * when both are given they must agree. The subject is the source subject named in `src`
 * (`ori_mmlu-anatomy` -> `anatomy`), else `category`.
 */
export const loadMMLUPro = choiceLoader({
  format: 'mmlupro',
  idField: 'question_id',
  optionCount: [3, 10],
  answer: (record, options) => {
    const count = options.length;
    const byLetter = given(record.answer) ? letterIndex(record.answer, count, 'answer') : undefined;
    const byIndex = given(record.answer_index) ? indexOf(record.answer_index, count) : undefined;
    if (byLetter !== undefined && byIndex !== undefined && byLetter !== byIndex) {
      throw new BadRecord(
        `answer ${optionLetter(byLetter)} disagrees with answer_index ${byIndex}`,
        'answer',
      );
    }
    const answer = byLetter ?? byIndex;
    if (answer === undefined) throw new BadRecord('missing', 'answer');
    return answer;
  },
  extras: (record) => ({
    subject: subjectOf(record),
    category: optionalString(record, 'category'),
    explanation: optionalString(record, 'cot_content'),
  }),
});

function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function indexOf(index: unknown, optionCount: number): number {
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= optionCount) {
    throw new BadRecord(
      `expected 0-${optionCount - 1}, got ${JSON.stringify(index)}`,
      'answer_index',
    );
  }
  return index;
}

function subjectOf(record: Record<string, unknown>): string | undefined {
  const src = optionalString(record, 'src');
  const match = src?.match(/^ori_mmlu-(.+)$/);
  if (match) return match[1];
  return optionalString(record, 'category');
}
