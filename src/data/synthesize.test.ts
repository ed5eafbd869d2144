import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../core/errors.ts';
import { DATASETS, validateRows, writeSynthesis } from './export.ts';
import { featuresOf, loadKnowledgeBase } from './knowledge.ts';
import {
  ContaminationError,
  contaminationOf,
  synthesize,
  type SynthesisResult,
} from './synthesize.ts';

const kb = loadKnowledgeBase();

async function writtenBytes(result: SynthesisResult): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'finemed-synth-'));
  const files = await writeSynthesis(result, dir);
  return Object.fromEntries(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

describe('synthesize(options) offline', () => {
  let result: SynthesisResult;
  beforeAll(async () => {
    result = await synthesize({ preset: 'tiny' });
  });

  it('is deterministic: the same seed gives byte-identical files, another seed different ones', async () => {
    const again = await synthesize({ preset: 'tiny' });
    const other = await synthesize({ preset: 'tiny', seed: 2 });
    const [a, b, c] = await Promise.all([result, again, other].map(writtenBytes));
    expect(Object.keys(a)).toEqual(Object.keys(b));
    for (const name of Object.keys(a)) expect(b[name], name).toBe(a[name]);
    expect(c['pretrain.jsonl']).not.toBe(a['pretrain.jsonl']);
    expect(c['eval_mcq.jsonl']).not.toBe(a['eval_mcq.jsonl']);
  });

  it('produces every dataset, and every row validates against its schema', () => {
    validateRows(result);
    for (const [name, d] of Object.entries(DATASETS))
      expect(d.rows(result).length, name).toBeGreaterThan(0);
    expect(result.report.counts.common + result.report.counts.complex).toBe(
      result.report.counts.selected,
    );
    expect(result.dpo.length).toBe(result.sftComplex.length);
  });

  it('follows the paper: complex = difficulty 9-10 with two-section answers, common below', () => {
    expect(result.sftComplex.every((r) => r.scores.difficulty >= 9)).toBe(true);
    expect(result.sftCommon.every((r) => r.scores.difficulty <= 8)).toBe(true);
    for (const r of result.sftComplex)
      expect(r.messages[1].content).toMatch(/^## Thought\n[\s\S]+\n## Summarization\n/);
  });

  it('builds DPO pairs whose anchored rejections conclude a look-alike and whose chosen side concludes the condition', () => {
    const anchored = result.dpo.filter((r) => r.rejected_kind === 'anchored');
    expect(anchored.length).toBeGreaterThan(0);
    for (const r of anchored) {
      const c = kb.byId.get(r.condition_id!)!;
      const concluded = /The most likely diagnosis is ([^.]+)\./.exec(r.rejected)![1];
      expect(c.lookalikes.map((l) => kb.byId.get(l.id)!.name)).toContain(concluded);
      expect(r.chosen).toContain(`The most likely diagnosis is ${c.name}.`);
    }
  });

  it('justifies answers only with findings the question shows', () => {
    const cited = (answer: string): string[] =>
      [
        ...answer.matchAll(
          /(?:^|\. |: |- [^:]+: )([^.:]+?) (?:favours it over|is the deciding feature|is not expected in)/g,
        ),
      ].map((m) => m[1].toLowerCase());
    let checked = 0;
    for (const r of [...result.sftCommon, ...result.sftComplex]) {
      const question = r.messages[0].content.toLowerCase();
      for (const clue of cited(r.messages[1].content)) {
        checked++;
        expect(question, `${r.id} cites "${clue}"`).toContain(clue);
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('labels departments consistently with the knowledge base', () => {
    const { labelAgreement } = result.report;
    expect(labelAgreement.checked).toBe(result.report.counts.selected);
    expect(labelAgreement.primary / labelAgreement.checked).toBeGreaterThanOrEqual(0.95);
    expect(labelAgreement.secondary / labelAgreement.checked).toBeGreaterThanOrEqual(0.95);
    for (const r of result.evalMcq) {
      expect(r.department).toBe(kb.byId.get(r.condition_id)!.department);
      expect(r.subdepartment).toBe(kb.byId.get(r.condition_id)!.subdepartment);
    }
    expect(
      result.sftDepartment.every((r) => r.department === result.sftDepartment[0].department),
    ).toBe(true);
  });

  it('gives conditions a long-tailed training frequency, tagged on the evaluation items', () => {
    const counts = result.report.conditions.map((c) => c.trainCount).sort((a, b) => a - b);
    expect(counts[counts.length - 1]).toBeGreaterThan(5 * counts[0]);
    const tiers = new Set(result.evalMcq.map((r) => r.frequency_tier));
    expect(tiers.has('rare') && tiers.has('frequent')).toBe(true);
  });

  it('keeps evaluation questions out of training: held-out templates, stems and feature combos', () => {
    expect(result.report.contamination.passed).toBe(true);
    const training = [
      ...result.pretrain.map((r) => r.text),
      ...result.sftComplex.map((r) => r.messages[0].content),
    ].join('\n');
    expect(training).not.toContain('Which of the following is the most likely diagnosis?');
    expect(training).not.toContain('is brought to the clinic complaining of');
    for (const r of result.evalMcq) expect(training).not.toContain(r.question.slice(0, 80));
  });

  it("never shows an evaluation item's full set of findings in a training vignette of the same condition", () => {
    const isVignette = (t: string): boolean => /\b\d+-(year|month|week|day)-old\b/.test(t);
    const vignettes = [
      ...result.pretrain
        .filter((r) => r.kind === 'case')
        .map((r) => ({ id: r.condition_id, text: r.text })),
      ...[...result.sftCommon, ...result.sftComplex].map((r) => ({
        id: r.condition_id,
        text: r.messages[0].content,
      })),
    ].filter((v) => isVignette(v.text));
    expect(vignettes.length).toBeGreaterThan(20);
    let compared = 0;
    for (const item of result.evalMcq) {
      const features = featuresOf(kb.byId.get(item.condition_id)!).filter((f) =>
        item.question.includes(f),
      );
      expect(features.length).toBeGreaterThanOrEqual(5);
      for (const v of vignettes.filter((x) => x.id === item.condition_id)) {
        compared++;
        expect(
          features.every((f) => v.text.includes(f)),
          `${item.id} vs a training vignette`,
        ).toBe(false);
      }
    }
    expect(compared).toBeGreaterThan(0);
  });

  it('fails the run when an evaluation item leaks', async () => {
    const planted = {
      ...result,
      pretrain: [
        ...result.pretrain,
        {
          ...result.pretrain[0],
          id: 'planted',
          text: `Exam practice: ${result.evalMcq[3].question}`,
        },
      ],
    };
    const report = contaminationOf(planted, 0.5);
    expect(report.passed).toBe(false);
    expect(report.leaks.map((l) => l.id)).toEqual([result.evalMcq[3].id]);
    await expect(synthesize({ preset: 'tiny', leakThreshold: 0.01 })).rejects.toBeInstanceOf(
      ContaminationError,
    );
  });

  it('honours an AbortSignal', async () => {
    const controller = new AbortController();
    controller.abort(new CancelledError('stop'));
    await expect(synthesize({ preset: 'tiny' }, { signal: controller.signal })).rejects.toThrow(
      'stop',
    );
  });

  it('a bare abort() stops it with a CancelledError, not a DOMException', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      synthesize({ preset: 'tiny' }, { signal: controller.signal }),
    ).rejects.toBeInstanceOf(CancelledError);
  });
});
