import { parquetReadObjects } from 'hyparquet';
import * as aq from 'arquero';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableFromIPC, Type } from '@uwdata/flechette';
import { columnTypeText } from '../core/parquet-testing.ts';
import {
  departmentsFile,
  synthesisTables,
  toArrow,
  toJsonl,
  toParquet,
  writeSynthesis,
} from './export.ts';
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
      expect(toJsonl(aq.fromArrow(toArrow(table)).objects()), name).toBe(toJsonl(table.objects()));
    }
    expect(tables.eval_mcq.numRows()).toBe(12);
  });

  it('stores SFT messages as list<struct<role, content>> in Parquet and Arrow, not JSON text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finemed-export-'));
    await writeSynthesis(result, dir, { parquet: true, arrow: true });
    for (const name of ['sft_common', 'sft_complex']) {
      const parquet = new Uint8Array(readFileSync(join(dir, `${name}.parquet`)));
      expect(columnTypeText(parquet, 'messages'), name).toBe(
        'list<struct<role: string, content: string>>',
      );
      const rows = await parquetReadObjects({ file: parquet.buffer as ArrayBuffer });
      expect(Array.isArray(rows[0].messages)).toBe(true);
      const arrow = tableFromIPC(readFileSync(join(dir, `${name}.arrow`)));
      const type = arrow.schema.fields.find((f) => f.name === 'messages')!.type;
      expect(type.typeId, name).toBe(Type.List);
      const struct = (type as { children: { type: { typeId: number; children: unknown[] } }[] })
        .children[0].type;
      expect(struct.typeId).toBe(Type.Struct);
      expect(
        (struct.children as { name: string; type: { typeId: number } }[]).map((c) => [
          c.name,
          c.type.typeId,
        ]),
      ).toEqual([
        ['role', Type.Utf8],
        ['content', Type.Utf8],
      ]);
    }
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
