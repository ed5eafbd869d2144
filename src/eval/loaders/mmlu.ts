import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import { InputError } from '../../core/errors.ts';
import { readTextFile } from '../../core/lines.ts';
import type { LoadedBenchmark } from '../types.ts';
import {
  BadRecord,
  ItemCollector,
  checkOptions,
  letterIndex,
  placeId,
  type LoadOptions,
} from './common.ts';

interface CsvRow {
  record: string[];
  info: { lines: number; raw: string };
}

/** MMLU's columns: the question, four options, the answer letter. */
const COLUMNS = 6;

/**
 * MMLU's headerless CSV, `question,A,B,C,D,answer` with RFC 4180 quoting (fields may hold
 * commas, doubled quotes and newlines). The subject comes from the file name
 * (`medical_genetics_test.csv` -> `medical_genetics`) unless given. A first row whose answer
 * column reads `answer` is taken as a header and passed over.
 */
export async function loadMMLU(file: string, opts: LoadOptions = {}): Promise<LoadedBenchmark> {
  const text = await readTextFile(file, opts);
  let rows: CsvRow[];
  try {
    rows = parse(text, {
      info: true,
      raw: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as CsvRow[];
  } catch (error) {
    const e = error as Error & { lines?: number };
    throw new InputError(`not valid CSV (${e.message})`, { file, line: e.lines });
  }
  const subject = opts.subject ?? subjectOfFile(file);
  const collector = new ItemCollector('mmlu', file, opts.skipBadRows);
  rows.forEach(({ record, info }, i) => {
    const source = { file, line: startLine(info) };
    if (i === 0 && /^(answer|target|label)$/i.test(record[record.length - 1]?.trim() ?? '')) return;
    collector.add(source, () => {
      // The count comes first: a missing column would otherwise read as a bad answer letter.
      if (record.length !== COLUMNS) {
        throw new BadRecord(
          `expected ${COLUMNS} columns (question, options A-D, answer), found ${record.length}`,
        );
      }
      const question = record[0];
      if (question.trim() === '') throw new BadRecord('empty question', 'question');
      const options = checkOptions(record.slice(1, -1), 'options', 4, 4);
      return {
        id: placeId(source),
        question,
        options,
        answerIndex: letterIndex(record[record.length - 1], options.length, 'answer'),
        subject,
        source,
      };
    });
  });
  return collector.result();
}

/** `anatomy_test.csv` -> `anatomy`: the naming of MMLU's `data/{dev,val,test}` folders. */
export function subjectOfFile(file: string): string | undefined {
  const stem = basename(file).replace(/\.csv$/i, '');
  const subject = stem.replace(/_(test|dev|val|validation|train)$/i, '');
  return subject === '' ? undefined : subject;
}

/** csv-parse reports the line a record ends on; a quoted field may span several lines. */
function startLine(info: { lines: number; raw: string }): number {
  const body = info.raw.replace(/^(\r?\n)+/, '').replace(/\r?\n$/, '');
  return info.lines - (body.match(/\n/g)?.length ?? 0);
}
