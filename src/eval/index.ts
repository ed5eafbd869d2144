/**
 * Evaluation: real medical benchmark files, two scoring modes, honest statistics and the
 * stage-by-stage comparison behind the gain ladder.
 *
 * ```ts
 * import { loadBenchmark, loadEvalModel, runEval, compareStages, stageTable, ladderSvg, ladderText } from '../eval/index.ts';
 *
 * const bench = await loadBenchmark('medqa/us4_sample.jsonl');           // format detected; or pass 'medqa'
 * const model = await loadEvalModel('checkpoints/sft');                // LoglikScorer + ChatGenerator
 * const { result } = await runEval(store, bench, model, { mode: 'loglik', shots: 3, seed: 1 });
 * result.summary.accuracy; result.summary.ci95;                        // and one record per item
 * const rows = compareStages([{ label: 'base', records: base.records }, { label: 'SFT', records: result.records }]);
 * stageTable(rows);                                                    // arquero table
 * ladderText(rows);                                                    // terminal table
 * ladderSvg(rows, { document });                                       // d3 SVG
 * ```
 */
export { benchEval, type EvalBenchResult } from './bench.ts';
export { compareStages, stageTable, type CompareOptions, type Stage } from './compare.ts';
export { extractAnswer, type Extraction, type ExtractionRule } from './extract.ts';
export { ladderSvg, type LadderOptions, type LadderPoint } from './ladder.ts';
export { ladderCells, ladderFormat, ladderText, type LadderRow } from './ladder-row.ts';
export { detectFormat, loadBenchmark, type LoadOptions } from './loaders/load.ts';
export {
  chatTemplateOf,
  loadEvalModel,
  modelGenerator,
  modelKey,
  modelScorer,
} from './model-adapter.ts';
export { chatMessages, drawShots, loglikContext, type ChoiceStyle } from './prompts.ts';
export { formatSummary } from './report.ts';
export {
  clipReply,
  readReasoning,
  reasoningMessages,
  type AnswerStyle,
  type ReasoningReading,
} from './reasoning.ts';
// The saved-result format is public as a whole: its types, files, reader and writer.
export * from './results.ts';
export { evaluate, runEval, type EvalModel, type EvalOptions, type StoredEval } from './run.ts';
export {
  accuracyCI,
  bySubject,
  comparePaired,
  mcnemarExact,
  type AccuracyEstimate,
  type PairedComparison,
} from './stats.ts';
export {
  pooledRows,
  poolSeeds,
  seedPoints,
  type PooledRung,
  type SeedLadder,
  type Spread,
} from './seeds.ts';
export * from './types.ts';
