import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.ts';
import { checkContamination } from './contamination.ts';
import { writeSynthesis } from './export.ts';
import { loadKnowledgeBase } from './knowledge.ts';
import { formatOptions } from './mcq.ts';
import { Rng } from '../core/rng.ts';
import type { EvalItem } from './evalset.ts';
import {
  loadPhrasings,
  paraphrasedRows,
  trainingTexts,
  unphrased,
  type EvalPhrasings,
} from './paraphrase.ts';
import type { McqRow } from './schemas.ts';
import { synthesize, type SynthesisResult } from './synthesize.ts';
import { words } from './text.ts';

const kb = loadKnowledgeBase();
const phrasings = loadPhrasings();
const PRESETS = ['tiny', 'demo'] as const;

/**
 * sha256 of the files `finemed synth --preset <p> --seed 1` wrote before the paraphrased file
 * existed: adding it must leave them byte-identical. Regenerate (only for an intended change
 * of the synthesizer) with `npx finemed synth --preset <p> --seed 1 --out DIR` and
 * `sha256sum DIR/*` (synthesis_report.json is left out: it gains the paraphrase's figures).
 */
const EXPECTED: Record<(typeof PRESETS)[number], Record<string, string>> = {
  tiny: {
    'departments.json': '2d52ca2ba29422cd8011319d8a4e69663ae0354ecf19f7e74f05dfb30da87993',
    'dpo.jsonl': '3920bd8b7af6a8b5a73778f466113a73b2ef40461d00e9eba6013d5e5bc39e96',
    'eval_mcq.jsonl': 'ad234aba40b240a2a82cff2e17b12e14c7e997ec1939775f7b7f61ef8485731d',
    'pretrain.jsonl': 'f17546bb0a5869be047b3e8acf0d6752aebcab3ec5c25fe9405219914d1f7829',
    'sft_common.jsonl': '6a5658d2d5ce734ceb3975df6a2dc762e44413196c86381d23a54c8c2b3f00ce',
    'sft_complex.jsonl': '2f8ed543baa71e2eebf6126255a19ac5214f7eaeeae4a4fead831140a4639ca8',
    'sft_department.jsonl': '869d17e4958d1b7e36886fd41404990a2ca829b40ddd9876da7edc07735042d6',
    'sft_subdepartment.jsonl': '5ea655bb82b22920db1b1c3dc849da1c2c903a272a3ee32711840e73090e11cb',
  },
  demo: {
    'departments.json': 'f26541bef0a7e3900af6d2601520f330af589e88725b355a42eb68ebafcf399d',
    'dpo.jsonl': 'cd12ec4456115556c3ecd1bd6829425f50de3f93c2bc471de2ef5ebddaacfa4a',
    'eval_mcq.jsonl': '96918af3248837b44ed5f9a9d5533a8cc23c09eabc28878779b1d06c9608e912',
    'pretrain.jsonl': 'dbda22b3c09ee9c75529ce9c25f09a7047c865cfa08d8aa45e6a08b599f4e7e4',
    'sft_common.jsonl': '94b7a820e0c7c10f1d03dfe424422562a288c949369367ba65de96e3462a8c88',
    'sft_complex.jsonl': 'd62bb0b3ada100cdf7ac47230b2912bbe618b083c35f77838be2b4c5ed39318c',
    'sft_department.jsonl': 'd2394b0a71badba754e9dbcf3bec5cd3ebc686a8e957ac7f8d7d2acf604aff1d',
    'sft_subdepartment.jsonl': '2f7d540b60ac61aa03e34ffe8ceda2eba32a9daf65f5afc44e34c39963d3642e',
  },
};

/** Texts as one string of words, ` | `-separated, so a phrase is found only within one text. */
const wordString = (texts: Iterable<string>): string =>
  ` ${[...texts].map((t) => words(t).join(' ')).join(' | ')} `;
const contains = (haystack: string, phrase: string): boolean =>
  haystack.includes(` ${words(phrase).join(' ')} `);
const allPhrasings = [...phrasings.features.values(), ...phrasings.settings.values()].flat();

describe('evaluation-only phrasings (assets/eval-phrasings.json)', () => {
  it('cover every feature and setting of the knowledge base, and nothing else', () => {
    expect(unphrased(kb, phrasings)).toEqual([]);
    const known = new Set(kb.conditions.flatMap((c) => [...c.symptoms, ...c.signs, ...c.findings]));
    expect([...phrasings.features.keys()].filter((f) => !known.has(f))).toEqual([]);
    const settings = new Set(kb.conditions.map((c) => c.patient.setting));
    expect([...phrasings.settings.keys()].filter((s) => !settings.has(s))).toEqual([]);
  });

  it('use words no knowledge-base text contains as a phrase (so no world can train on them)', () => {
    const kbText = wordString(
      kb.conditions.flatMap((c) => [
        c.name,
        c.management,
        c.wrongChoice.choice,
        c.wrongChoice.why,
        ...c.patient.risks,
        ...(c.patient.setting ? [c.patient.setting] : []),
        ...c.symptoms,
        ...c.signs,
        ...c.findings,
      ]),
    );
    expect(allPhrasings.filter((p) => contains(kbText, p))).toEqual([]);
  });

  it('rejects a phrasing equal to its feature, naming the file and field', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'finemed-phrasings-')), 'p.json');
    writeFileSync(
      file,
      JSON.stringify({ notice: '', settings: {}, phrasings: { 'dry cough': ['Dry  cough.'] } }),
    );
    expect(() => loadPhrasings(file)).toThrow(InputError);
    expect(() => loadPhrasings(file)).toThrow(/phrasings\.dry cough\[0\]/);
  });
});

describe('paraphrasedRows(items, rows, phrasings, train, rng)', () => {
  const item = {
    id: 'q1',
    template: 0,
    stem: 'Which of the following is the most likely diagnosis?',
    options: { A: 'asthma', B: 'croup', C: 'pneumonia', D: 'bronchiolitis' },
    vignette: {
      conditionId: 'asthma',
      age: 40,
      sex: 'male',
      risks: [],
      symptoms: ['dry cough', 'fever'],
      signs: ['wheeze'],
      findings: [],
      lookalikeIds: [],
    },
  } as unknown as EvalItem;
  const row = { id: 'q1', question: 'verbatim', options: item.options } as unknown as McqRow;
  const table = (cough: string[]): EvalPhrasings => ({
    features: new Map([
      ['dry cough', cough],
      ['fever', ['pyrexia']],
      ['wheeze', ['wheezing on auscultation']],
    ]),
    settings: new Map(),
  });
  const leaked =
    'A 40-year-old man is brought to the clinic complaining of a non-productive cough and pyrexia.';

  it('re-draws an item whose question shares a 13-gram with training', () => {
    const phrasings = table(['a non-productive cough', 'a hacking cough without phlegm']);
    const { rows, report } = paraphrasedRows([item], [row], phrasings, [leaked], new Rng(3), 0.5);
    expect(rows[0].question).toBe(
      'A 40-year-old man is brought to the clinic complaining of a hacking cough without phlegm and pyrexia. Physical examination is remarkable for wheezing on auscultation. Which of the following is the most likely diagnosis?',
    );
    expect(report.rephrased).toEqual(['q1']);
    expect(report.unresolved).toEqual([]);
    expect(report.contamination.dirty).toEqual([]);
  });

  it('reports an item no draw can clean, and a feature without a phrasing', () => {
    const full = table(['a non-productive cough']);
    const phrasings = {
      ...full,
      features: new Map([...full.features].filter(([f]) => f !== 'wheeze')),
    };
    const { rows, report } = paraphrasedRows([item], [row], phrasings, [leaked], new Rng(3), 0.5);
    expect(report.rephrased).toEqual(['q1']);
    expect(report.unresolved).toEqual(['q1']);
    expect(report.contamination.dirty).toEqual(['q1']);
    expect(report.missing).toEqual(['wheeze']);
    expect(rows[0].question).toContain('remarkable for wheeze.');
  });
});

describe.each(PRESETS)(
  'synthesize({ preset: %s, seed: 1 }) with the paraphrased file',
  (preset) => {
    let result: SynthesisResult;
    let files: Record<string, Buffer>;
    let train: Set<string>;
    beforeAll(async () => {
      result = await synthesize({ preset, seed: 1 });
      const dir = mkdtempSync(join(tmpdir(), 'finemed-paraphrase-'));
      const names = await writeSynthesis(result, dir);
      files = Object.fromEntries(names.map((n) => [n, readFileSync(join(dir, n))]));
      train = trainingTexts(result);
    });

    it('leaves the training files, eval_mcq.jsonl and departments.json byte-identical', () => {
      const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
      for (const [name, hash] of Object.entries(EXPECTED[preset]))
        expect(sha(files[name]), name).toBe(hash);
      expect(files['eval_mcq_paraphrased.jsonl']).toBeDefined();
    });

    it('puts no evaluation-only phrasing in any training text', () => {
      const trainText = wordString(train);
      expect(allPhrasings.filter((p) => contains(trainText, p))).toEqual([]);
    });

    it('keeps ids, answers and options, and changes every question', () => {
      const verbatim = result.evalMcq;
      const para = result.evalMcqParaphrased;
      expect(para.map((r) => r.id)).toEqual(verbatim.map((r) => r.id));
      para.forEach((r, i) => {
        const { question, ...rest } = r;
        const { question: original, ...same } = verbatim[i];
        expect(rest).toEqual(same);
        expect(Object.keys(r.options)).toEqual(Object.keys(verbatim[i].options));
        expect(question).not.toBe(original);
      });
    });

    it('shares no 13-gram with training in any question; an item is dirty only through its options', () => {
      const questions = checkContamination(
        train,
        result.evalMcqParaphrased.map((r) => ({ id: r.id, text: r.question })),
      ).report;
      expect(questions.dirty).toEqual([]);
      expect(result.report.paraphrase.unresolved).toEqual([]);
      expect(result.report.paraphrase.missing).toEqual([]);
      // The options are the verbatim file's; training's multiple-choice instructions can list the
      // same four names in the same order, and no phrasing can change that.
      const optionsOnly = checkContamination(
        train,
        result.evalMcqParaphrased.map((r) => ({ id: r.id, text: formatOptions(r.options) })),
      ).report.dirty;
      const dirty = result.report.paraphrase.contamination.dirty;
      expect(dirty.filter((id) => !optionsOnly.includes(id))).toEqual([]);
      expect(dirty.length).toBeLessThan(result.report.contamination.dirty.length);
    });
  },
);
