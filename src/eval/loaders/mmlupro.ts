import type { LoadedBenchmark } from '../types.ts';
import {
  BadRecord,
  loadJsonItems,
  checkOptions,
  letterIndex,
  optionLetter,
  optionalString,
  placeId,
  stringField,
  type LoadOptions,
} from './common.ts';

/**
 * MMLU-Pro JSON Lines or JSON array: `{question_id, question, options: [3..10 strings],
 * answer: "E", answer_index: 4, cot_content, category, src}`. Either answer field suffices;
 * when both are given they must agree. The subject is the source subject named in `src`
 * (`ori_mmlu-anatomy` -> `anatomy`), else `category`.
 */
export async function loadMMLUPro(file: string, opts: LoadOptions = {}): Promise<LoadedBenchmark> {
  return loadJsonItems('mmlupro', file, opts, (record, source) => {
    if (!Array.isArray(record.options)) throw new BadRecord('expected an array', 'options');
    const options = checkOptions(record.options, 'options', 3, 10);
    return {
      id: idOf(record.question_id) ?? placeId(source),
      question: stringField(record, 'question'),
      options,
      answerIndex: answerOf(record, options.length),
      subject: subjectOf(record),
      category: optionalString(record, 'category'),
      explanation: optionalString(record, 'cot_content'),
      source,
    };
  });
}

function idOf(raw: unknown): string | undefined {
  return typeof raw === 'number' || (typeof raw === 'string' && raw !== '')
    ? String(raw)
    : undefined;
}

function answerOf(record: Record<string, unknown>, optionCount: number): number {
  const hasLetter = record.answer !== undefined && record.answer !== null;
  const hasIndex = record.answer_index !== undefined && record.answer_index !== null;
  const byLetter = hasLetter ? letterIndex(record.answer, optionCount, 'answer') : undefined;
  let byIndex: number | undefined;
  if (hasIndex) {
    const index = record.answer_index;
    if (
      typeof index !== 'number' ||
      !Number.isInteger(index) ||
      index < 0 ||
      index >= optionCount
    ) {
      throw new BadRecord(
        `expected 0-${optionCount - 1}, got ${JSON.stringify(index)}`,
        'answer_index',
      );
    }
    byIndex = index;
  }
  if (byLetter !== undefined && byIndex !== undefined && byLetter !== byIndex) {
    throw new BadRecord(
      `answer ${optionLetter(byLetter)} disagrees with answer_index ${byIndex}`,
      'answer',
    );
  }
  const answer = byLetter ?? byIndex;
  if (answer === undefined) throw new BadRecord('missing', 'answer');
  return answer;
}

function subjectOf(record: Record<string, unknown>): string | undefined {
  const src = optionalString(record, 'src');
  const match = src?.match(/^ori_mmlu-(.+)$/);
  if (match) return match[1];
  return optionalString(record, 'category');
}
