import { extname } from 'node:path';
import { InputError } from '../../core/errors.ts';
import type { BenchFormat, LoadedBench } from '../types.ts';
import { readBenchText, type LoadOptions } from './common.ts';
import { loadMedMCQA } from './medmcqa.ts';
import { loadMedQA } from './medqa.ts';
import { loadMMLU } from './mmlu.ts';
import { loadMMLUPro } from './mmlupro.ts';
import { loadPubMedQA } from './pubmedqa.ts';

export type { LoadOptions } from './common.ts';

const LOADERS: Record<BenchFormat, (file: string, opts: LoadOptions) => Promise<LoadedBench>> = {
  medqa: loadMedQA,
  medmcqa: loadMedMCQA,
  pubmedqa: loadPubMedQA,
  mmlu: loadMMLU,
  mmlupro: loadMMLUPro,
};

/** Loads a benchmark file in `format`, or in the format {@link detectFormat} sees when omitted. */
export async function loadBench(
  file: string,
  format?: BenchFormat,
  opts: LoadOptions = {},
): Promise<LoadedBench> {
  return LOADERS[format ?? (await detectFormat(file))](file, opts);
}

/**
 * Tells the format from the file itself: `.csv` is MMLU; a JSON object of objects with
 * `QUESTION` is PubMedQA; otherwise the first JSON record decides (`opa` -> MedMCQA, an
 * options array -> MMLU-Pro, an options object -> MedQA).
 */
export async function detectFormat(file: string): Promise<BenchFormat> {
  if (extname(file).toLowerCase() === '.csv') return 'mmlu';
  const text = await readBenchText(file);
  const first = firstRecord(text);
  if (first && typeof first === 'object' && !Array.isArray(first)) {
    const record = first as Record<string, unknown>;
    if ('opa' in record && 'cop' in record) return 'medmcqa';
    if (Array.isArray(record.options)) return 'mmlupro';
    if (record.options && typeof record.options === 'object') return 'medqa';
    const values = Object.values(record);
    if (values.length > 0 && values.every((v) => v && typeof v === 'object' && 'QUESTION' in v)) {
      return 'pubmedqa';
    }
  }
  throw new InputError('cannot tell the benchmark format; pass --format', { file });
}

function firstRecord(text: string): unknown {
  const trimmed = text.trim();
  try {
    const whole: unknown = JSON.parse(trimmed);
    return Array.isArray(whole) ? whole[0] : whole;
  } catch {
    // Not one JSON document: JSON Lines, whose first line is the first record.
  }
  try {
    return JSON.parse(trimmed.split('\n', 1)[0]);
  } catch {
    return undefined;
  }
}
