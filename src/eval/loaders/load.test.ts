import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { detectFormat, loadBenchmark } from './load.ts';

const fixtures = join(fileURLToPath(import.meta.url), '..', '..', 'fixtures');
const fixture = (name: string): string => join(fixtures, name);

async function loadError(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('loadBenchmark(file, "medqa")', () => {
  it('reads 4- and 5-option items, answer_idx or answer text, ids by line', async () => {
    const bench = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
    expect(bench.items.map((i) => [i.id, i.options.length, i.answerIndex, i.subject])).toEqual([
      ['L1', 4, 1, 'step1'],
      ['L2', 5, 2, 'step2&3'],
      ['L4', 4, 3, 'step1'],
    ]);
    expect(bench.items[1].options[4]).toBe('Posterior descending artery only');
    expect(bench.items[2].source).toEqual({ file: fixture('medqa.jsonl'), line: 4 });
  });

  it('names file, line and field of the first bad row', async () => {
    const error = await loadError(loadBenchmark(fixture('medqa-bad.jsonl'), 'medqa'));
    expect(error.file).toBe(fixture('medqa-bad.jsonl'));
    expect(error.line).toBe(2);
    expect(error.message).toMatch(/medqa-bad\.jsonl:2: .*not valid JSON/);
  });

  it('skips and counts bad rows with skipBadRows', async () => {
    const bench = await loadBenchmark(fixture('medqa-bad.jsonl'), 'medqa', { skipBadRows: true });
    expect(bench.items.map((i) => i.id)).toEqual(['L1', 'L5']);
    expect(bench.skipped.map((s) => [s.source.line, s.reason])).toEqual([
      [2, expect.stringMatching(/not valid JSON/)],
      [3, 'answer_idx: answer E but only 4 options'],
      [4, 'question: missing'],
    ]);
  });
});

describe('loadBenchmark(file, "medmcqa")', () => {
  it('infers a 1-based cop from a 4 and keeps subject and explanation', async () => {
    const bench = await loadBenchmark(fixture('medmcqa-1based.jsonl'), 'medmcqa');
    expect(bench.items.map((i) => [i.id, i.answerIndex, i.subject])).toEqual([
      ['f1a0', 3, 'Pharmacology'],
      ['f1a1', 0, 'Pathology'],
      ['f1a2', 1, 'Pediatrics'],
    ]);
    expect(bench.items[0].options).toEqual([
      'Phenytoin',
      'Carbamazepine',
      'Phenobarbitone',
      'Ethosuximide',
    ]);
    expect(bench.items[0].explanation).toMatch(/Ethosuximide/);
    expect(bench.items[1].explanation).toBeUndefined();
  });

  it('infers a 0-based cop from a 0 in a JSON array, keyed by index', async () => {
    const bench = await loadBenchmark(fixture('medmcqa-0based.json'), 'medmcqa');
    expect(bench.items.map((i) => [i.id, i.options[i.answerIndex], i.source.key])).toEqual([
      ['h0', 'Measles', '[0]'],
      ['h1', 'Appendix', '[1]'],
    ]);
  });

  it('refuses to guess the cop base when only 1-3 appear, and obeys copBase', async () => {
    const error = await loadError(loadBenchmark(fixture('medmcqa-ambiguous.jsonl'), 'medmcqa'));
    expect(error.message).toMatch(/--cop-base/);
    const zero = await loadBenchmark(fixture('medmcqa-ambiguous.jsonl'), 'medmcqa', { copBase: 0 });
    const one = await loadBenchmark(fixture('medmcqa-ambiguous.jsonl'), 'medmcqa', { copBase: 1 });
    expect(zero.items.map((i) => i.options[i.answerIndex])).toEqual(['Rubella', 'Phenobarbitone']);
    expect(one.items.map((i) => i.options[i.answerIndex])).toEqual(['Measles', 'Ethosuximide']);
  });

  it('rejects unlabelled and incomplete rows, naming line and field', async () => {
    const error = await loadError(loadBenchmark(fixture('medmcqa-bad.jsonl'), 'medmcqa'));
    expect([error.line, error.field]).toEqual([2, 'cop']);
    const bench = await loadBenchmark(fixture('medmcqa-bad.jsonl'), 'medmcqa', {
      skipBadRows: true,
    });
    expect(bench.items.map((i) => i.id)).toEqual(['b0', 'b3']);
    expect(bench.skipped.map((s) => [s.source.line, s.reason.split(':')[0]])).toEqual([
      [2, 'cop'],
      [3, 'opd'],
    ]);
  });
});

describe('loadBenchmark(file, "pubmedqa")', () => {
  it('keys items by PMID with yes/no/maybe options and the abstract as context', async () => {
    const bench = await loadBenchmark(fixture('pubmedqa.json'), 'pubmedqa');
    expect(bench.items.map((i) => [i.id, i.answerIndex])).toEqual([
      ['90000001', 0],
      ['90000002', 1],
      ['90000003', 2],
    ]);
    expect(bench.items[0].options).toEqual(['yes', 'no', 'maybe']);
    expect(bench.items[1].context).toBe(
      'Heavy exercise may raise the risk of upper respiratory infections.\n' +
        'A cohort of 80 runners reported colds over one season; supplement use did not differ between those with and without colds.',
    );
  });

  it('takes labels from a ground-truth file when one is given', async () => {
    const bench = await loadBenchmark(fixture('pubmedqa.json'), 'pubmedqa', {
      truthFile: fixture('pubmedqa-truth.json'),
    });
    expect(bench.items.map((i) => i.options[i.answerIndex])).toEqual(['yes', 'maybe', 'maybe']);
  });

  it('names the PMID of a bad record, or skips it', async () => {
    const error = await loadError(loadBenchmark(fixture('pubmedqa-bad.json'), 'pubmedqa'));
    expect(error.message).toMatch(/pubmedqa-bad\.json: key 90000012: CONTEXTS: /);
    const bench = await loadBenchmark(fixture('pubmedqa-bad.json'), 'pubmedqa', {
      skipBadRows: true,
    });
    expect(bench.items.map((i) => i.id)).toEqual(['90000011']);
    expect(bench.skipped.map((s) => [s.source.key, s.reason])).toEqual([
      ['90000012', 'CONTEXTS: expected an array of strings'],
      ['90000013', 'final_decision: expected yes/no/maybe, got "probably"'],
    ]);
  });
});

describe('loadBenchmark(file, "mmlu")', () => {
  it('parses RFC 4180 quoting and gives each item the line it starts on', async () => {
    const bench = await loadBenchmark(fixture('anatomy_test.csv'), 'mmlu');
    expect(bench.items.map((i) => [i.id, i.answerIndex, i.subject])).toEqual([
      ['L1', 1, 'anatomy'],
      ['L2', 0, 'anatomy'],
      ['L3', 1, 'anatomy'],
      ['L5', 1, 'anatomy'],
    ]);
    expect(bench.items[1].question).toBe(
      'The "anatomical snuffbox" is bounded by the tendons of which muscles, among others?',
    );
    expect(bench.items[1].options[0]).toBe(
      'Extensor pollicis longus, and extensor pollicis brevis',
    );
    expect(bench.items[2].question).toBe(
      'Which structure passes through the foramen ovale?\n(Choose one.)',
    );
  });

  it('counts columns before reading the answer, and rejects an answer past the options', async () => {
    const error = await loadError(loadBenchmark(fixture('mmlu-bad.csv'), 'mmlu'));
    expect([error.line, error.field]).toEqual([2, undefined]);
    expect(error.message).toMatch(/mmlu-bad\.csv:2: expected 6 columns .*, found 4$/);
    const bench = await loadBenchmark(fixture('mmlu-bad.csv'), 'mmlu', { skipBadRows: true });
    expect(bench.items.map((i) => i.id)).toEqual(['L1', 'L4']);
    expect(bench.skipped.map((s) => [s.source.line, s.reason])).toEqual([
      [2, expect.stringMatching(/^expected 6 columns .*, found 4$/)],
      [3, 'answer: answer F but only 4 options'],
    ]);
  });

  it('reports an unclosed quote as an input error with a line', async () => {
    const error = await loadError(loadBenchmark(fixture('mmlu-unclosed.csv'), 'mmlu'));
    expect(error.file).toBe(fixture('mmlu-unclosed.csv'));
    expect(error.line).toBeGreaterThan(0);
  });
});

describe('loadBenchmark(file, "mmlupro")', () => {
  it('reads 3 to 10 options, answer letter or index, subject from src', async () => {
    const bench = await loadBenchmark(fixture('mmlupro.jsonl'), 'mmlupro');
    expect(bench.items.map((i) => [i.id, i.options.length, i.answerIndex, i.subject])).toEqual([
      ['91001', 10, 1, 'clinical_knowledge'],
      ['91002', 3, 1, 'anatomy'],
      ['91003', 6, 3, 'health'],
    ]);
    expect(bench.items[1].explanation).toMatch(/^A: Let's think step by step/);
    expect(bench.items[0].explanation).toBeUndefined();
  });

  it('rejects 11 options and disagreeing answer fields', async () => {
    const bench = await loadBenchmark(fixture('mmlupro-bad.jsonl'), 'mmlupro', {
      skipBadRows: true,
    });
    expect(bench.items.map((i) => i.id)).toEqual(['92003']);
    expect(bench.skipped.map((s) => s.reason)).toEqual([
      'options: expected 3-10 options, got 11',
      'answer: answer C disagrees with answer_index 1',
    ]);
  });
});

describe('detectFormat(file)', () => {
  it('tells each format from its content', async () => {
    const cases: [string, string][] = [
      ['medqa.jsonl', 'medqa'],
      ['medmcqa-1based.jsonl', 'medmcqa'],
      ['medmcqa-0based.json', 'medmcqa'],
      ['pubmedqa.json', 'pubmedqa'],
      ['anatomy_test.csv', 'mmlu'],
      ['mmlupro.jsonl', 'mmlupro'],
    ];
    for (const [name, format] of cases) expect(await detectFormat(fixture(name))).toBe(format);
  });

  it('asks for --format when it cannot tell', async () => {
    const error = await loadError(detectFormat(fixture('pubmedqa-truth.json')));
    expect(error.message).toMatch(/--format/);
  });
});
