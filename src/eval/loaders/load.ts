import { extname } from 'node:path';
import { InputError } from '../../core/errors.ts';
import { firstChar, readLines, readTextFile, type ReadLimits } from '../../core/lines.ts';
import type { BenchmarkFormat, LoadedBenchmark } from '../types.ts';
import type { LoadOptions } from './common.ts';
import { loadMedMCQA } from './medmcqa.ts';
import { loadMedQA } from './medqa.ts';
import { loadMMLU } from './mmlu.ts';
import { loadMMLUPro } from './mmlupro.ts';
import { loadPubMedQA } from './pubmedqa.ts';

export type { LoadOptions } from './common.ts';

const LOADERS: Record<
  BenchmarkFormat,
  (file: string, opts: LoadOptions) => Promise<LoadedBenchmark>
> = {
  medqa: loadMedQA,
  medmcqa: loadMedMCQA,
  pubmedqa: loadPubMedQA,
  mmlu: loadMMLU,
  mmlupro: loadMMLUPro,
};

/** Loads a benchmark file in `format`, or in the format {@link detectFormat} sees when omitted. */
export async function loadBenchmark(
  file: string,
  format?: BenchmarkFormat,
  opts: LoadOptions = {},
): Promise<LoadedBenchmark> {
  return LOADERS[format ?? (await detectFormat(file, opts))](file, opts);
}

/**
 * Tells the format from the file itself: `.csv` is MMLU; a JSON object of objects with
 * `QUESTION` is PubMedQA; otherwise the first JSON record decides (`opa` -> MedMCQA, an
 * options array -> MMLU-Pro, an options object -> MedQA). Only the first line is read
 * unless the file is one JSON document spread over several lines.
 */
export async function detectFormat(
  file: string,
  limits: ReadLimits = {},
): Promise<BenchmarkFormat> {
  if (extname(file).toLowerCase() === '.csv') return 'mmlu';
  const first = await firstRecord(file, limits);
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

async function firstRecord(file: string, limits: ReadLimits): Promise<unknown> {
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  if ((await firstChar(file)) === '[') {
    const whole = parse(await readTextFile(file, limits));
    return Array.isArray(whole) ? whole[0] : undefined;
  }
  for await (const { line, text, error } of readLines(file, limits)) {
    if (error !== undefined)
      throw new InputError(`${error}; if the file is one JSON document, pass --format`, {
        file,
        line,
      });
    if (text.trim() === '') continue;
    // One record per line (JSON Lines, or a one-line JSON document); else a pretty-printed one.
    return parse(text) ?? parse(await readTextFile(file, limits));
  }
  return undefined;
}
