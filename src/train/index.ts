/**
 * Training stages of the FineMedLM-o1 recipe on the engine and model layers: SFT (and
 * pretraining on text), the SFT curriculum, DPO, and test-time training on retrieved
 * neighbours, all on one resumable, deterministic trainer loop.
 *
 * ```ts
 * import { sft, sftCurriculum, dpo, runTtt } from '../train/index.ts';
 *
 * const model = await loadModel('models/base');
 * await sftCurriculum(model, [
 *   { name: 'common', data: 'sft_common.jsonl' },
 *   { name: 'department', data: 'sft_department.jsonl' },
 *   { name: 'reasoning', data: 'sft_complex.jsonl' },
 * ], { outDir: 'runs/sft', preset: 'demo', onProgress });          // each stage continues the last
 * const { summary } = await dpo(model, { data: 'dpo.jsonl', outDir: 'runs/dpo' });
 * summary['rewards/margins'];
 * const bench = await loadBenchmark('eval_mcq.jsonl');
 * const ttt = await runTtt(model, bench, { index: 'sft_complex.jsonl', k: 1, steps: 1 });
 * ttt.summary.accuracy_before; ttt.summary.accuracy_after; ttt.summary.weights_restored;
 * ```
 * Cancel with `signal` (a checkpoint is saved first) and continue with `resume: true`: the
 * resumed run ends with the same weights, bit for bit, as one that was never interrupted.
 */
export { benchTtt, type BenchTttOptions, type TttLatency } from './bench.ts';
export {
  listCheckpoints,
  readTrainerState,
  type EvalRecord,
  type StepRecord,
  type TrainerState,
} from './checkpoints.ts';
export { dpo, referenceLogps, type DpoOptions, type DpoResult } from './dpo.ts';
export { encodeDpo, type DpoEncodeOptions } from './dpo-encode.ts';
export {
  DPO_LOSSES,
  DpoLoss,
  type DpoLossOptions,
  type DpoLossType,
  type EncodedPair,
} from './dpo-loss.ts';
export {
  encodeSft,
  encodeSftExample,
  packRows,
  type EncodedRow,
  type TruncationPolicy,
} from './encode.ts';
export {
  dpoExamples,
  readDpoFile,
  readSftFile,
  sftExamples,
  type DpoExample,
  type LoadedRows,
  type SftExample,
  type SkippedRow,
} from './examples.ts';
export {
  dpoIntoFolder,
  sftIntoFolder,
  tttIntoFolder,
  type StageJobContext,
  type StageJobParams,
  type TttJobParams,
} from './jobs.ts';
export { LmLoss } from './lm-loss.ts';
export { saveTrainedModel, type TrainSummary } from './output.ts';
export {
  DPO_PRESETS,
  presetFor,
  SFT_PRESETS,
  TRAIN_PRESETS,
  TTT_PRESETS,
  type TrainPreset,
} from './presets.ts';
export { Bm25Index } from './retrieve/bm25.ts';
export { DenseIndex, modelEmbedder, onnxEmbedder, type Embedder } from './retrieve/dense.ts';
export {
  buildIndex,
  indexArtifact,
  loadIndex,
  readIndexDocuments,
  RETRIEVERS,
  saveIndex,
  type IndexDocument,
  type Neighbour,
  type RetrievalIndex,
  type RetrieverKind,
} from './retrieve/index.ts';
export {
  sft,
  sftCurriculum,
  type CurriculumStage,
  type SftOptions,
  type SftResult,
} from './sft.ts';
export { ALL_LINEAR, type StageLora, type StageOptions } from './stage.ts';
export { runTrainer } from './trainer.ts';
export {
  TrainingDivergedError,
  type TrainerOptions,
  type TrainRun,
  type TrainTask,
} from './trainer-types.ts';
export { TestTimeTrainer, type Adaptation, type TttOptions } from './ttt.ts';
export {
  evaluateWithTtt,
  questionFinder,
  tttGenerator,
  tttScorer,
  type TttLogEntry,
  type TttRecord,
  type TttSummary,
} from './ttt-eval.ts';
export { runTtt, type EmbedderSpec, type TttRunOptions, type TttRunResult } from './ttt-run.ts';
