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
 * MedQA (USMLE) JSONL as released by its authors: `{question, options: {A: .., B: ..},
 * answer_idx: "B", answer, meta_info}` with 4 or 5 options. `answer_idx` decides; when it is
 * missing, `answer` must equal one option's text. Items have no id field, so the id is the
 * line (`L12`).
 */
export async function loadMedQA(file: string, opts: LoadOptions = {}): Promise<LoadedBenchmark> {
  return loadJsonItems('medqa', file, opts, (record, source) => {
    const question = stringField(record, 'question');
    const rawOptions = record.options;
    if (rawOptions === null || typeof rawOptions !== 'object') {
      throw new BadRecord('expected an object of lettered options', 'options');
    }
    const entries = Array.isArray(rawOptions)
      ? rawOptions.map((text, i) => [optionLetter(i), text] as const)
      : Object.entries(rawOptions).sort(([a], [b]) => a.localeCompare(b));
    entries.forEach(([letter], i) => {
      if (letter !== optionLetter(i)) {
        throw new BadRecord(`option keys must run A, B, ...; found '${letter}'`, 'options');
      }
    });
    const options = checkOptions(
      entries.map(([, text]) => text),
      'options',
      2,
      26,
    );
    return {
      id: optionalString(record, 'id') ?? placeId(source),
      question,
      options,
      answerIndex: answerOf(record, options),
      subject: optionalString(record, 'meta_info'),
      source,
    };
  });
}

function answerOf(record: Record<string, unknown>, options: string[]): number {
  if (record.answer_idx !== undefined && record.answer_idx !== null) {
    return letterIndex(record.answer_idx, options.length, 'answer_idx');
  }
  const answer = optionalString(record, 'answer');
  const index = answer === undefined ? -1 : options.indexOf(answer);
  if (index < 0) {
    throw new BadRecord(
      answer === undefined ? 'missing' : 'answer text matches no option',
      answer === undefined ? 'answer_idx' : 'answer',
    );
  }
  return index;
}
