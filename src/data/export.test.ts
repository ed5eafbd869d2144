import { parquetReadObjects } from 'hyparquet';
import * as aq from 'arquero';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { departmentsFile, synthesisTables, toJsonl, toParquet, writeSynthesis } from './export.ts';
import { loadDepartments } from './departments.ts';
import { NOT_FOR_CLINICAL_USE } from './notice.ts';
import { synthesize, type SynthesisResult } from './synthesize.ts';

describe('exports', () => {
  let result: SynthesisResult;
  beforeAll(async () => {
    result = await synthesize({ preset: 'tiny', passages: 60, evalItems: 12 });
  });

  it('writes TRL SFT messages, TRL DPO prompt/chosen/rejected and MedQA rows as JSONL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finemed-export-'));
    const files = await writeSynthesis(result, dir, { parquet: true, arrow: true });
    expect(files).toContain('sft_complex.parquet');
    const read = (name: string): Record<string, unknown>[] =>
      readFileSync(join(dir, name), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    const sft = read('sft_common.jsonl')[0] as { messages: { role: string }[] };
    expect(sft.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(Object.keys(read('dpo.jsonl')[0])).toEqual(
      expect.arrayContaining(['prompt', 'chosen', 'rejected']),
    );
    expect(Object.keys(read('eval_mcq.jsonl')[0]).slice(0, 5)).toEqual([
      'question',
      'answer',
      'options',
      'answer_idx',
      'meta_info',
    ]);
    const report = JSON.parse(readFileSync(join(dir, 'synthesis_report.json'), 'utf8'));
    expect(report.notice).toBe(NOT_FOR_CLINICAL_USE);
    expect(JSON.parse(readFileSync(join(dir, 'departments.json'), 'utf8')).primary).toHaveLength(6);
  });

  it('every table has a provenance column and survives Parquet and Arrow round trips', async () => {
    const tables = synthesisTables(result);
    for (const [name, table] of Object.entries(tables)) {
      expect(table.columnNames(), name).toContain('provenance');
      const fromParquet = await parquetReadObjects({
        file: toParquet(table).buffer as ArrayBuffer,
      });
      expect(toJsonl(fromParquet), name).toBe(toJsonl(table.objects()));
      expect(toJsonl(aq.fromArrow(table.toArrowIPC()).objects()), name).toBe(
        toJsonl(table.objects()),
      );
    }
    expect(tables.eval_mcq.numRows()).toBe(12);
  });

  it("departments.json counts SFT rows per department of the paper's taxonomy", () => {
    const file = departmentsFile(result, loadDepartments()) as {
      primary: { sftRows: number; secondary: unknown[] }[];
    };
    expect(file.primary.reduce((s, p) => s + p.sftRows, 0)).toBe(
      result.sftCommon.length + result.sftComplex.length,
    );
    expect(file.primary.reduce((s, p) => s + p.secondary.length, 0)).toBe(29);
  });
});
