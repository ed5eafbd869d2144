import { InputError } from '../../core/errors.ts';
import type { LoadedBenchmark } from '../types.ts';
import {
  BadRecord,
  collectJsonItems,
  checkOptions,
  optionalString,
  readJsonRecords,
  recordId,
  stringField,
  type LoadOptions,
} from './common.ts';

const OPTION_FIELDS = ['opa', 'opb', 'opc', 'opd'] as const;

/**
 * MedMCQA JSON Lines or JSON array: `{id, question, opa, opb, opc, opd, cop, subject_name,
 * exp}`. The original release numbers `cop` from 1 (1 = opa), the Hugging Face copy from 0;
 * with `copBase: 'auto'` the base is read off the whole file (a 0 means 0-based, a 4 means
 * 1-based) and a file showing neither or both is refused rather than guessed. Unlabelled
 * records (`cop` -1 or null, as in the test split) are bad records.
 */
export async function loadMedMCQA(file: string, opts: LoadOptions = {}): Promise<LoadedBenchmark> {
  const records = await readJsonRecords(file, opts);
  const base =
    opts.copBase === 0 || opts.copBase === 1 ? opts.copBase : inferCopBase(file, records);
  return collectJsonItems('medmcqa', file, records, opts.skipBadRows, (record, source) => {
    const options = checkOptions(
      OPTION_FIELDS.map((field) => {
        if (record[field] === undefined || record[field] === null) {
          throw new BadRecord('missing', field);
        }
        return record[field];
      }),
      'options',
      4,
      4,
    );
    const cop = copValue(record.cop);
    if (cop === undefined || cop < base || cop > base + 3) {
      throw new BadRecord(
        `expected ${base}-${base + 3} (${base}-based), got ${JSON.stringify(record.cop)}`,
        'cop',
      );
    }
    return {
      id: recordId(record, 'id', source),
      question: stringField(record, 'question'),
      options,
      answerIndex: cop - base,
      subject: optionalString(record, 'subject_name'),
      explanation: optionalString(record, 'exp'),
      source,
    };
  });
}

function copValue(raw: unknown): number | undefined {
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function inferCopBase(file: string, records: { value?: unknown }[]): 0 | 1 {
  const seen = new Set<number>();
  for (const { value } of records) {
    if (value && typeof value === 'object') {
      const cop = copValue((value as Record<string, unknown>).cop);
      if (cop !== undefined) seen.add(cop);
    }
  }
  if (seen.has(0) && !seen.has(4)) return 0;
  if (seen.has(4) && !seen.has(0)) return 1;
  const why = seen.has(0) ? 'both 0 and 4 appear' : 'no 0 or 4 appears, so either base fits';
  throw new InputError(`cannot tell whether cop is 0- or 1-based (${why}); pass --cop-base 0|1`, {
    file,
    field: 'cop',
  });
}
