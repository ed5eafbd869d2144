import { choiceLoader } from './choice.ts';
import { BadRecord, letterIndex, optionalString } from './common.ts';

/**
 * MedQA (USMLE) JSONL as released by its authors: `{question, options: {A: .., B: ..},
 * answer_idx: "B", answer, meta_info}` with 4 or 5 options. `answer_idx` decides; when it is
 * missing, `answer` must equal one option's text. Items have no id field, so the id is the
 * line (`L12`) unless a record brings an `id`.
 */
export const loadMedQA = choiceLoader({
  format: 'medqa',
  idField: 'id',
  optionCount: [2, 26],
  answer: (record, options) => {
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
  },
  extras: (record) => ({ subject: optionalString(record, 'meta_info') }),
});
