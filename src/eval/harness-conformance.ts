import type { EvalOptions } from './run.ts';
import { lmEvalDefaultShots } from './harness.ts';
import { PUBMEDQA_TEST_PMIDS } from './harness-pubmedqa.ts';
import type { EvalSummary } from './results.ts';
import type { EvalItem, LoadedBenchmark } from './types.ts';

/** Whether an `lm-eval` result can stand beside a published lm-evaluation-harness number. */
export interface Conformance {
  /** False when any note applies. */
  comparable: boolean;
  /** Each reason the run differs from lm-eval's task, naming the file line or key at fault. */
  notes: string[];
}

function where(item: EvalItem): string {
  const { file, line, key } = item.source;
  return line !== undefined ? `${file}:${line}` : key !== undefined ? `${file} key ${key}` : file;
}

/**
 * What keeps an `lm-eval` run from being lm-eval's number: MedQA items without exactly four
 * options (lm-eval's task is `medqa_4options`), PubMedQA items outside the 500 test PMIDs it
 * scores, a partial run, and few-shot examples lm-eval would draw at random.
 */
export function lmEvalConformance(
  bench: LoadedBenchmark,
  scored: readonly EvalItem[],
  opts: Pick<EvalOptions, 'shots'>,
): Conformance {
  const notes: string[] = [];
  const shots = opts.shots ?? lmEvalDefaultShots(bench.format);
  if (bench.format === 'medqa') {
    const odd = scored.filter((item) => item.options.length !== 4);
    if (odd.length > 0) {
      notes.push(
        `lm-eval's medqa_4options has 4 options; ${where(odd[0])} has ${odd[0].options.length} (${odd.length} of ${scored.length} items)`,
      );
    }
  }
  if (bench.format === 'pubmedqa') {
    const outside = scored.filter((item) => !PUBMEDQA_TEST_PMIDS.has(item.id));
    if (outside.length > 0) {
      notes.push(
        `lm-eval's pubmedqa scores the 500 PQA-L test PMIDs; ${outside.length} of ${scored.length} items are not among them (first: ${where(outside[0])})`,
      );
    } else if (scored.length < PUBMEDQA_TEST_PMIDS.size) {
      notes.push(`scored ${scored.length} of lm-eval's ${PUBMEDQA_TEST_PMIDS.size} test PMIDs`);
    }
  }
  if (scored.length < bench.items.length) {
    notes.push(`scored the first ${scored.length} of ${bench.items.length} items (a limit)`);
  }
  if (shots > 0 && ['medqa', 'medmcqa', 'pubmedqa'].includes(bench.format)) {
    // lm-eval's default sampler draws with Python's Random(1234), its state running on from
    // item to item; the file's first k are reproducible but not those draws.
    notes.push(
      `lm-eval draws ${bench.format}'s few-shot examples at random from the train split; these are the shots file's first ${shots}`,
    );
  }
  if (bench.format === 'mmlupro' && shots !== lmEvalDefaultShots('mmlupro')) {
    notes.push(`lm-eval's mmlu_pro is 5-shot; this run is ${shots}-shot`);
  }
  return { comparable: notes.length === 0, notes };
}

/** How a summary names its profile: `harness lm-eval (ref): comparable ...`, or `harness workbench`. */
export function harnessLines(summary: EvalSummary): string[] {
  const harness = summary.harness ?? 'workbench';
  if (harness !== 'lm-eval')
    return [`harness ${harness} (not for comparison with lm-eval numbers)`];
  const f3 = (v: number | null | undefined): string => (v == null ? '-' : v.toFixed(3));
  const metrics =
    summary.acc_bytes !== undefined
      ? `acc ${f3(summary.accuracy)}  acc_norm ${f3(summary.acc_norm)}  acc_bytes ${f3(summary.acc_bytes)}`
      : `exact_match ${f3(summary.accuracy)}  no option read ${summary.n_unparseable ?? 0}`;
  const verdict = summary.lm_eval?.comparable
    ? 'comparable with published lm-eval numbers'
    : `not comparable with lm-eval: ${(summary.lm_eval?.notes ?? ['no conformance record']).join('; ')}`;
  return [
    `harness lm-eval (${summary.harness_ref ?? 'unknown version'}): ${metrics}`,
    `  ${verdict}`,
  ];
}
