import { describe, expect, it } from 'vitest';
import { lmEvalConformance } from './harness-conformance.ts';
import { lmEvalContext, lmEvalExtract, lmEvalShots } from './harness.ts';
import type { BenchmarkFormat, EvalItem, LoadedBenchmark } from './types.ts';

// Expected strings are written by hand from lm-evaluation-harness v0.4.12-48-g4e7e0d47f:
// the tasks' doc_to_text (yaml / preprocess_*.py / utils.py), `description`, and
// api/task.py fewshot_context + build_qa_turn (target delimiter " ", few-shot delimiter "\n\n").

let line = 0;
function item(fields: Partial<EvalItem> & Pick<EvalItem, 'question' | 'options'>): EvalItem {
  line++;
  return { id: `L${line}`, answerIndex: 0, source: { file: 'bench.jsonl', line }, ...fields };
}

const medqa = item({
  question: 'A 30-year-old man has a dry cough. Which drug caused it?',
  options: ['Lisinopril', 'Losartan', 'Amlodipine', 'Metoprolol'],
});
const medqaShots = [
  item({
    question: 'Scurvy is caused by a lack of?',
    options: ['A', 'C', 'D', 'K'],
    answerIndex: 1,
  }),
  item({ question: 'Rickets?', options: ['Vitamin D', 'Iron', 'Zinc', 'Folate'] }),
];

describe('lm-eval prompts, 0 and k shots, as the task definitions write them', () => {
  it('medqa_4options (preprocess_medqa.doc_to_text)', () => {
    const zero =
      'Question: A 30-year-old man has a dry cough. Which drug caused it?\nA. Lisinopril\nB. Losartan\nC. Amlodipine\nD. Metoprolol\nAnswer:';
    expect(lmEvalContext('medqa', medqa, [])).toBe(zero);
    expect(lmEvalContext('medqa', medqa, medqaShots)).toBe(
      'Question: Scurvy is caused by a lack of?\nA. A\nB. C\nC. D\nD. K\nAnswer: B\n\n' +
        'Question: Rickets?\nA. Vitamin D\nB. Iron\nC. Zinc\nD. Folate\nAnswer: A\n\n' +
        zero,
    );
  });

  it('medmcqa (utils_medmcqa.doc_to_text, with its Choices: line)', () => {
    const it0 = item({
      question: 'Drug of choice for absence seizures',
      options: ['Ethosuximide', 'Phenytoin', 'Carbamazepine', 'Phenobarbitone'],
    });
    const shot = item({
      question: 'Largest organ',
      options: ['Liver', 'Skin', 'Lung', 'Brain'],
      answerIndex: 1,
    });
    const zero =
      'Question: Drug of choice for absence seizures\nChoices:\nA. Ethosuximide\nB. Phenytoin\nC. Carbamazepine\nD. Phenobarbitone\nAnswer:';
    expect(lmEvalContext('medmcqa', it0, [])).toBe(zero);
    expect(lmEvalContext('medmcqa', it0, [shot])).toBe(
      'Question: Largest organ\nChoices:\nA. Liver\nB. Skin\nC. Lung\nD. Brain\nAnswer: B\n\n' +
        zero,
    );
  });

  it('pubmedqa (preprocess_pubmedqa: contexts joined by newlines; the target is the word)', () => {
    const doc = item({
      question: 'Does walking lower blood pressure?',
      options: ['yes', 'no', 'maybe'],
      context: 'BACKGROUND text.\nRESULTS text.',
    });
    const shot = item({
      question: 'Is X safe?',
      options: ['yes', 'no', 'maybe'],
      answerIndex: 2,
      context: 'Only one.',
    });
    const zero =
      'Abstract: BACKGROUND text.\nRESULTS text.\nQuestion: Does walking lower blood pressure?\nAnswer:';
    expect(lmEvalContext('pubmedqa', doc, [])).toBe(zero);
    expect(lmEvalContext('pubmedqa', doc, [shot])).toBe(
      'Abstract: Only one.\nQuestion: Is X safe?\nAnswer: maybe\n\n' + zero,
    );
  });

  it('mmlu (description with the subject spaced, question.strip(), dev examples)', () => {
    const doc = item({
      question: '  Which nerve supplies the deltoid?\n',
      options: ['Axillary', 'Radial', 'Ulnar', 'Median'],
      subject: 'college_medicine',
    });
    const shot = item({
      question: 'Which bone is in the arm?',
      options: ['Femur', 'Humerus', 'Tibia', 'Fibula'],
      answerIndex: 1,
      subject: 'college_medicine',
    });
    const description =
      'The following are multiple choice questions (with answers) about college medicine.\n\n';
    const zero =
      'Which nerve supplies the deltoid?\nA. Axillary\nB. Radial\nC. Ulnar\nD. Median\nAnswer:';
    expect(lmEvalContext('mmlu', doc, [])).toBe(description + zero);
    expect(lmEvalContext('mmlu', doc, [shot])).toBe(
      description +
        'Which bone is in the arm?\nA. Femur\nB. Humerus\nC. Tibia\nD. Fibula\nAnswer: B\n\n' +
        zero,
    );
  });

  it("mmlu_pro (utils.format_cot_example; the example's cot_content without its opening)", () => {
    const doc = item({
      question: 'Who discovered the first virus? ',
      options: [' Pasteur', 'Iwanowsky ', 'Jenner'],
      category: 'health',
    });
    const shot = item({
      question: 'Which vitamin prevents scurvy?',
      options: ['A', 'C'],
      answerIndex: 1,
      category: 'health',
      explanation:
        "A: Let's think step by step. Scurvy is vitamin C deficiency. The answer is (B).",
    });
    const description =
      'The following are multiple choice questions (with answers) about health. Think step by step and then finish your answer with "the answer is (X)" where X is the correct letter choice.\n';
    const zero =
      "Question:\nWho discovered the first virus? \nOptions:\nA. Pasteur\nB. Iwanowsky\nC. Jenner\nAnswer: Let's think step by step.";
    expect(lmEvalContext('mmlupro', doc, [])).toBe(description + zero);
    expect(lmEvalContext('mmlupro', doc, [shot])).toBe(
      description +
        "Question:\nWhich vitamin prevents scurvy?\nOptions:\nA. A\nB. C\nAnswer: Let's think step by step. Scurvy is vitamin C deficiency. The answer is (B).\n\n" +
        zero,
    );
  });
});

describe('lm-eval few-shot sources', () => {
  const dev = (n: number, subject?: string, category?: string): EvalItem[] =>
    Array.from({ length: n }, (_, i) =>
      item({
        question: `dev ${subject ?? category} ${i}`,
        options: ['a', 'b', 'c', 'd'],
        subject,
        category,
      }),
    );

  it("takes the split's first k in file order, of the item's own subject or category", () => {
    const pool = [...dev(3, 'anatomy'), ...dev(6, 'virology')];
    const target = item({ question: 'q', options: ['a', 'b', 'c', 'd'], subject: 'virology' });
    expect(lmEvalShots('mmlu', target, pool, 5).map((s) => s.question)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `dev virology ${i}`),
    );
    const pro = [...dev(2, undefined, 'law'), ...dev(5, undefined, 'health')];
    const proItem = item({ question: 'q', options: ['a', 'b', 'c'], category: 'health' });
    expect(lmEvalShots('mmlupro', proItem, pro, 5)).toEqual(pro.slice(2));
    expect(lmEvalShots('medqa', medqa, medqaShots, 1)).toEqual([medqaShots[0]]);
  });

  it('refuses k > 0 without a split, naming --shots-file, and a split too small', () => {
    expect(() => lmEvalShots('mmlu', medqa, undefined, 5)).toThrow(
      /5-shot mmlu under --harness lm-eval takes its examples from the dev split: pass it with --shots-file/,
    );
    const proItem = item({ question: 'q', options: ['a', 'b', 'c'], category: 'law' });
    expect(() => lmEvalShots('mmlupro', proItem, dev(5, undefined, 'health'), 5)).toThrow(
      /needs 5 examples of 'law' in the validation split, the shots file has 0/,
    );
    expect(lmEvalShots('medqa', medqa, undefined, 0)).toEqual([]);
  });
});

describe("lm-eval's mmlu_pro filter (regex 'answer is \\(?([ABCDEFGHIJ])\\)?', take_first)", () => {
  it.each([
    ['Step 1 ... the answer is (B) ... so the answer is (C).', 'B'],
    ['so the answer is D', 'D'],
    ['The Answer Is (C)', '[invalid]'],
    ['Answer: C', '[invalid]'],
    ['**C**', '[invalid]'],
    ['\\boxed{D}', '[invalid]'],
    ['the answer is (K)', '[invalid]'],
    ['the answer is (J)', 'J'],
  ])('%j -> %s', (reply, verdict) => {
    expect(lmEvalExtract(reply)).toBe(verdict);
  });
});

describe('lm-eval conformance', () => {
  const bench = (format: BenchmarkFormat, items: EvalItem[]): LoadedBenchmark => ({
    format,
    file: 'bench.jsonl',
    items,
    skipped: [],
  });

  it('marks MedQA with five options as not lm-eval, naming the first such line', () => {
    const five = item({ question: 'q', options: ['a', 'b', 'c', 'd', 'e'] });
    const result = lmEvalConformance(bench('medqa', [medqa, five]), [medqa, five], {});
    expect(result.comparable).toBe(false);
    expect(result.notes).toEqual([
      `lm-eval's medqa_4options has 4 options; bench.jsonl:${five.source.line} has 5 (1 of 2 items)`,
    ]);
    expect(lmEvalConformance(bench('medqa', [medqa]), [medqa], {}).comparable).toBe(true);
  });

  it("marks PubMedQA items outside lm-eval's 500 test PMIDs (the dev half) as not comparable", () => {
    const pub = (id: string): EvalItem => ({
      ...item({ question: 'q', options: ['yes', 'no', 'maybe'] }),
      id,
      source: { file: 'pqal_dev.json', key: id },
    });
    // 12377809 is in the PQA-L test ground truth; 21645374 too; 10808977 is in pqal_dev.json (the dev half).
    const test = [pub('12377809'), pub('21645374')];
    const partial = lmEvalConformance(bench('pubmedqa', test), test, {});
    expect(partial.notes).toEqual(["scored 2 of lm-eval's 500 test PMIDs"]);
    const mixed = [...test, pub('10808977')];
    const result = lmEvalConformance(bench('pubmedqa', mixed), mixed, {});
    expect(result.comparable).toBe(false);
    expect(result.notes[0]).toBe(
      "lm-eval's pubmedqa scores the 500 PQA-L test PMIDs; 1 of 3 items are not among them (first: pqal_dev.json key 10808977)",
    );
  });

  it('notes a limit, random-sampler few-shot tasks and a non-5-shot MMLU-Pro', () => {
    const result = lmEvalConformance(bench('medmcqa', [medqa, medqaShots[0]]), [medqa], {
      shots: 2,
    });
    expect(result.notes).toEqual([
      'scored the first 1 of 2 items (a limit)',
      "lm-eval draws medmcqa's few-shot examples at random from the train split; these are the shots file's first 2",
    ]);
    const pro = item({ question: 'q', options: ['a', 'b', 'c'], category: 'health' });
    expect(lmEvalConformance(bench('mmlupro', [pro]), [pro], { shots: 0 }).notes).toEqual([
      "lm-eval's mmlu_pro is 5-shot; this run is 0-shot",
    ]);
  });
});
