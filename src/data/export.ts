import * as aq from 'arquero';
import { field, list, struct, utf8 } from '@uwdata/flechette';
import { join } from 'node:path';
import type { z } from 'zod';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.ts';
import { inferColumnType, parquetBytes } from '../core/parquet.ts';
import { loadDepartments, type DepartmentTaxonomy } from './departments.ts';
import { NOT_FOR_CLINICAL_USE } from './notice.ts';
import { dpoRowSchema, mcqRowSchema, pretrainRowSchema, sftRowSchema } from './schemas.ts';
import type { SynthesisResult } from './synthesize.ts';

/** The row sets of a result, by output file name (without extension), with their schemas. */
export const DATASETS = {
  pretrain: { rows: (r: SynthesisResult) => r.pretrain, schema: pretrainRowSchema },
  sft_common: { rows: (r: SynthesisResult) => r.sftCommon, schema: sftRowSchema },
  sft_complex: { rows: (r: SynthesisResult) => r.sftComplex, schema: sftRowSchema },
  sft_department: { rows: (r: SynthesisResult) => r.sftDepartment, schema: sftRowSchema },
  sft_subdepartment: { rows: (r: SynthesisResult) => r.sftSubdepartment, schema: sftRowSchema },
  dpo: { rows: (r: SynthesisResult) => r.dpo, schema: dpoRowSchema },
  eval_mcq: { rows: (r: SynthesisResult) => r.evalMcq, schema: mcqRowSchema },
  eval_mcq_paraphrased: {
    rows: (r: SynthesisResult) => r.evalMcqParaphrased,
    schema: mcqRowSchema,
  },
} as const satisfies Record<string, { rows: (r: SynthesisResult) => object[]; schema: z.ZodType }>;

/** A dataset `finemed export` can write: `pretrain`, `sft_common`, `sft_complex`, ... */
export type DatasetName = keyof typeof DATASETS;

/** Checks every row of every dataset against its schema; throws naming the file, row and field. */
export function validateRows(result: SynthesisResult): void {
  for (const [name, { rows, schema }] of Object.entries(DATASETS)) {
    rows(result).forEach((row, i) => {
      const parsed = (schema as z.ZodType).safeParse(row);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`${name}.jsonl row ${i + 1}: ${issue.path.join('.')}: ${issue.message}`);
      }
    });
  }
}

/** Rows as JSON Lines. */
export function toJsonl(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/** Every dataset as an arquero table (each has a `provenance` column). */
export function synthesisTables(result: SynthesisResult): Record<DatasetName, aq.ColumnTable> {
  return Object.fromEntries(
    Object.entries(DATASETS).map(([name, d]) => [name, aq.from(d.rows(result) as object[])]),
  ) as Record<DatasetName, aq.ColumnTable>;
}

/**
 * A table as Parquet bytes: strings, integers, doubles and booleans natively, chat
 * conversations (`messages`) as list<struct<role, content>> so that `datasets` loads them as
 * lists of dicts, any other nested value as JSON.
 */
export function toParquet(table: aq.ColumnTable): Uint8Array {
  return parquetBytes(
    table.columnNames().map((name) => ({ name, data: table.array(name) as unknown[] })),
  );
}

// The child is named `item`, as pyarrow names list children.
const MESSAGES_ARROW = list(
  field('item', struct([field('role', utf8()), field('content', utf8())])),
);

/**
 * A table as Arrow IPC bytes. Conversations get an explicit list<struct<role: utf8, content:
 * utf8>>: inferred, they come out as fixed-size lists of dictionary-encoded strings when every
 * row has the same number of turns.
 */
export function toArrow(table: aq.ColumnTable): Uint8Array {
  const types = Object.fromEntries(
    table
      .columnNames()
      .filter((name) => inferColumnType(table.array(name) as unknown[]) === 'MESSAGES')
      .map((name) => [name, MESSAGES_ARROW]),
  );
  return table.toArrowIPC({ types });
}

/** `departments.json`: the taxonomy with SFT rows and world conditions per department. */
export function departmentsFile(result: SynthesisResult, taxonomy: DepartmentTaxonomy): unknown {
  const { departments, conditions } = result.report;
  const inWorld = (key: 'department' | 'subdepartment', id: string): number =>
    conditions.filter((c) => c[key] === id).length;
  return {
    notice: NOT_FOR_CLINICAL_USE,
    curriculum: {
      department: result.sftDepartment[0]?.department ?? null,
      subdepartment: result.sftSubdepartment[0]?.subdepartment ?? null,
    },
    primary: taxonomy.primary.map((p) => ({
      id: p.id,
      name: p.name,
      sftRows: departments.primary[p.id] ?? 0,
      worldConditions: inWorld('department', p.id),
      secondary: p.secondary.map((s) => ({
        id: s.id,
        name: s.name,
        sftRows: departments.secondary[s.id] ?? 0,
        worldConditions: inWorld('subdepartment', s.id),
      })),
    })),
  };
}

/** Output formats besides JSONL. */
export interface WriteOptions {
  /** Also write `<name>.parquet`. */
  parquet?: boolean;
  /** Also write `<name>.arrow` (Arrow IPC). */
  arrow?: boolean;
}

/**
 * Validates and writes a result into `dir`, each file atomically: the JSONL datasets,
 * `departments.json`, `synthesis_report.json`, and optionally Parquet and Arrow copies.
 * Returns the file names written.
 */
export async function writeSynthesis(
  result: SynthesisResult,
  dir: string,
  options: WriteOptions = {},
  taxonomy: DepartmentTaxonomy = loadDepartments(),
): Promise<string[]> {
  validateRows(result);
  const written: string[] = [];
  const tables = options.parquet || options.arrow ? synthesisTables(result) : undefined;
  for (const [name, d] of Object.entries(DATASETS) as [
    DatasetName,
    (typeof DATASETS)[DatasetName],
  ][]) {
    await writeFileAtomic(join(dir, `${name}.jsonl`), toJsonl(d.rows(result)));
    written.push(`${name}.jsonl`);
    if (tables && options.parquet) {
      await writeFileAtomic(join(dir, `${name}.parquet`), toParquet(tables[name]));
      written.push(`${name}.parquet`);
    }
    if (tables && options.arrow) {
      await writeFileAtomic(join(dir, `${name}.arrow`), toArrow(tables[name]));
      written.push(`${name}.arrow`);
    }
  }
  await writeJsonAtomic(join(dir, 'departments.json'), departmentsFile(result, taxonomy));
  await writeJsonAtomic(join(dir, 'synthesis_report.json'), result.report);
  return [...written, 'departments.json', 'synthesis_report.json'];
}
