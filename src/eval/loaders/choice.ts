import type { BenchmarkFormat, EvalItem, LoadedBenchmark } from '../types.ts';
import {
  BadRecord,
  checkOptions,
  loadJsonItems,
  optionLetter,
  recordId,
  stringField,
  type LoadOptions,
} from './common.ts';

/**
 * What tells one JSON multiple-choice benchmark from another (MedQA, MMLU-Pro): the rest of a
 * record (`question`, `options` as a list or as `{A: .., B: ..}`, an id or the record's place)
 * is read the same way for every such benchmark.
 */
export interface ChoiceFormat {
  /** The format the loaded benchmark reports. */
  format: BenchmarkFormat;
  /** The record's id field (a string or a number); without one the id is the record's place. */
  idField: string;
  /** The fewest and the most options a record may have. */
  optionCount: readonly [min: number, max: number];
  /** The 0-based answer, read once the options are known. */
  answer(record: Record<string, unknown>, options: readonly string[]): number;
  /** The benchmark's own descriptive fields. */
  extras(record: Record<string, unknown>): Pick<EvalItem, 'subject' | 'category' | 'explanation'>;
}

/** A loader of JSON Lines or JSON array files in `spec`'s format. */
export function choiceLoader(
  spec: ChoiceFormat,
): (file: string, opts?: LoadOptions) => Promise<LoadedBenchmark> {
  const [min, max] = spec.optionCount;
  return (file, opts = {}) =>
    loadJsonItems(spec.format, file, opts, (record, source) => {
      const question = stringField(record, 'question');
      const options = checkOptions(optionList(record.options), 'options', min, max);
      return {
        id: recordId(record, spec.idField, source),
        question,
        options,
        answerIndex: spec.answer(record, options),
        ...spec.extras(record),
        source,
      };
    });
}

/** The option texts of a list, or of an object whose keys run A, B, ... (in any order). */
function optionList(raw: unknown): unknown[] {
  if (Array.isArray(raw)) return raw;
  if (raw === null || typeof raw !== 'object') {
    throw new BadRecord('expected a list of options or an object of lettered options', 'options');
  }
  const entries = Object.entries(raw).sort(([a], [b]) => a.localeCompare(b));
  entries.forEach(([letter], i) => {
    if (letter !== optionLetter(i)) {
      throw new BadRecord(`option keys must run A, B, ...; found '${letter}'`, 'options');
    }
  });
  return entries.map(([, text]) => text);
}
