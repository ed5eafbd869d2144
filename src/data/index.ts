/**
 * The data layer's public API: synthesize a dataset (offline or LLM-backed), write or tabulate
 * it, and the knowledge base, taxonomy and checks behind it. The notebook's `wb.synth` and the
 * `finemed synth` command call {@link synthesize} and {@link writeSynthesis}.
 */
export { NOT_FOR_CLINICAL_USE } from './notice.ts';
export {
  synthesize,
  contaminationOf,
  ContaminationError,
  type SynthesisHooks,
  type SynthesisResult,
} from './synthesize.ts';
export {
  PRESETS,
  resolveKnobs,
  type CorpusSettings,
  type LlmSettings,
  type PresetName,
  type SynthesisKnobs,
  type SynthesisOptions,
} from './presets.ts';
export {
  DATASETS,
  synthesisTables,
  toJsonl,
  toParquet,
  validateRows,
  writeSynthesis,
  type DatasetName,
  type WriteOptions,
} from './export.ts';
export type { SynthesisReport } from './report.ts';
export * from './schemas.ts';
export { checkContamination, type ContaminationReport, type ItemOverlap } from './contamination.ts';
export { readCorpus, type CorpusOptions } from './corpus.ts';
export { evalPrompt } from './evalset.ts';
export { featuresOf, loadKnowledgeBase, type Condition, type KnowledgeBase } from './knowledge.ts';
export { loadDepartments, type DepartmentLabel, type DepartmentTaxonomy } from './departments.ts';
