import { InputError } from '../../core/errors.ts';
import { readTextFile, type ReadLimits } from '../../core/lines.ts';
import type { LoadedBenchmark } from '../types.ts';
import {
  BadRecord,
  ItemCollector,
  asObject,
  optionalString,
  parseWhole,
  stringField,
  type LoadOptions,
} from './common.ts';

/** PubMedQA's three answers, in the order lm-evaluation-harness lists them. */
export const PUBMEDQA_OPTIONS = ['yes', 'no', 'maybe'] as const;

/**
 * PubMedQA PQA-L (or PQA-A/U) JSON: one object keyed by PMID, each `{QUESTION, CONTEXTS: [..],
 * LABELS, final_decision, LONG_ANSWER}`. The abstract sections become the item's context
 * (joined by newlines, as the harness does). A ground-truth file `{pmid: label}` (the
 * official test split ships one) overrides `final_decision`.
 */
export async function loadPubMedQA(file: string, opts: LoadOptions = {}): Promise<LoadedBenchmark> {
  const data = parseWhole(file, await readTextFile(file, opts));
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError('expected a JSON object keyed by PMID', { file });
  }
  const truth = opts.truthFile ? await loadTruth(opts.truthFile, opts) : undefined;
  const collector = new ItemCollector('pubmedqa', file, opts.skipBadRows);
  for (const [pmid, value] of Object.entries(data)) {
    const source = { file, key: pmid };
    collector.add(source, () => {
      const record = asObject(value);
      const contexts = record.CONTEXTS;
      if (!Array.isArray(contexts) || contexts.some((c) => typeof c !== 'string')) {
        throw new BadRecord('expected an array of strings', 'CONTEXTS');
      }
      const label = truth ? truth.get(pmid) : optionalString(record, 'final_decision');
      const answerIndex = PUBMEDQA_OPTIONS.indexOf(
        (label ?? '').trim().toLowerCase() as (typeof PUBMEDQA_OPTIONS)[number],
      );
      if (answerIndex < 0) {
        throw new BadRecord(
          label === undefined
            ? truth
              ? 'PMID not in the ground-truth file'
              : 'missing'
            : `expected yes/no/maybe, got ${JSON.stringify(label)}`,
          truth ? 'ground truth' : 'final_decision',
        );
      }
      return {
        id: pmid,
        question: stringField(record, 'QUESTION'),
        options: [...PUBMEDQA_OPTIONS],
        answerIndex,
        context: (contexts as string[]).join('\n'),
        explanation: optionalString(record, 'LONG_ANSWER'),
        source,
      };
    });
  }
  return collector.result();
}

async function loadTruth(file: string, limits: ReadLimits): Promise<Map<string, string>> {
  const data = parseWhole(file, await readTextFile(file, limits));
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError('expected a JSON object {pmid: "yes"|"no"|"maybe"}', { file });
  }
  const truth = new Map<string, string>();
  for (const [pmid, label] of Object.entries(data)) {
    if (typeof label !== 'string') {
      throw new InputError(`expected a label string, got ${JSON.stringify(label)}`, {
        file,
        field: `key ${pmid}`,
      });
    }
    truth.set(pmid, label);
  }
  return truth;
}
