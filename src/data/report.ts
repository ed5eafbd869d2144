import { UsageError } from '../core/errors.ts';
import type { ContaminationReport } from './contamination.ts';
import type { DepartmentTaxonomy } from './departments.ts';
import type { KnowledgeBase } from './knowledge.ts';
import type { ParaphraseReport } from './paraphrase.ts';
import { NOT_FOR_CLINICAL_USE } from './notice.ts';
import type { PipelineOutput, SynthesisBackend } from './pipeline.ts';
import type { CorpusSettings, PresetName, SynthesisKnobs } from './presets.ts';
import type { DpoRow, McqRow, PretrainRow, SftRow } from './schemas.ts';
import type { SourceDoc } from './types.ts';
import { frequencyTiers, type World } from './world.ts';

/** The per-department SFT subsets (the paper's department and sub-department curriculum stages). */
export interface DepartmentSubsets {
  /** One primary department's rows. */
  department: { id: string; rows: SftRow[] };
  /** One of its secondary departments' rows. */
  subdepartment: { id: string | null; rows: SftRow[] };
}

function countBy<T>(items: T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of items) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

function largest(counts: Record<string, number>, order: string[]): string | undefined {
  return order.filter((id) => counts[id]).sort((a, b) => counts[b] - counts[a])[0];
}

/** Picks the department (default: most rows) and sub-department (default: its largest) subsets. */
export function departmentSubsets(
  rows: SftRow[],
  taxonomy: DepartmentTaxonomy,
  department?: string,
  subdepartment?: string,
): DepartmentSubsets {
  const primaryIds = taxonomy.primary.map((p) => p.id);
  if (department && !primaryIds.includes(department)) {
    throw new UsageError(`unknown department '${department}' (expected ${primaryIds.join('|')})`);
  }
  if (subdepartment && !taxonomy.secondaryById.has(subdepartment)) {
    throw new UsageError(`unknown sub-department '${subdepartment}'`);
  }
  const dept =
    department ??
    (subdepartment
      ? taxonomy.secondaryById.get(subdepartment)!.primaryId
      : largest(
          countBy(rows, (r) => r.department),
          primaryIds,
        )) ??
    primaryIds[0];
  const inDept = rows.filter((r) => r.department === dept);
  const subIds = taxonomy.primary.find((p) => p.id === dept)!.secondary.map((s) => s.id);
  const sub =
    subdepartment ??
    largest(
      countBy(inDept, (r) => r.subdepartment ?? ''),
      subIds,
    ) ??
    null;
  return {
    department: { id: dept, rows: inDept },
    subdepartment: { id: sub, rows: inDept.filter((r) => r.subdepartment === sub) },
  };
}

/** The content of `synthesis_report.json`. */
export interface SynthesisReport {
  /** The not-for-clinical-use notice. */
  notice: string;
  /** The synthesizer (`offline` or `llm:<model>`). */
  generator: string;
  /** The knobs of the run. */
  knobs: SynthesisKnobs & { preset: PresetName };
  /** The user's corpus, if any. */
  corpus: { path: string; texts: number } | null;
  /** Counts per stage. */
  counts: Record<string, number>;
  /** How often each selection rule decided. */
  selection: Record<string, number>;
  /** Mean scores of the kept instructions and the histogram of their difficulty (index = score). */
  scores: { quality: number; difficulty: number; relevance: number; difficultyHistogram: number[] };
  /** Rejections per stage and reason. */
  rejects: Record<string, Record<string, number>>;
  /** Department histograms of the SFT rows. */
  departments: { primary: Record<string, number>; secondary: Record<string, number> };
  /** How often the classifier's label matched the knowledge base for items about a known condition. */
  labelAgreement: { checked: number; primary: number; secondary: number };
  /** Preference pairs by kind of rejected answer. */
  dpo: Record<string, number>;
  /** Per condition: frequency weight, training rows, evaluation items and tier. */
  conditions: {
    id: string;
    name: string;
    department: string;
    subdepartment: string;
    weight: number;
    trainCount: number;
    evalItems: number;
    tier: string;
  }[];
  /** Synthesizer-specific figures (LLM requests, retries, cache hits, parse failures; offline error rates). */
  backend: Record<string, unknown>;
  /** The contamination check (its `dirty` ids are GPT-3's dirty split of `eval_mcq.jsonl`). */
  contamination: ContaminationReport;
  /** How `eval_mcq_paraphrased.jsonl` was built, and its own contamination check. */
  paraphrase: ParaphraseReport;
  /** Rows per output file. */
  files: Record<string, number>;
}

/** Everything {@link buildReport} summarizes. */
export interface ReportInputs {
  knobs: SynthesisKnobs & { preset: PresetName };
  kb: KnowledgeBase;
  world: World;
  docs: SourceDoc[];
  out: PipelineOutput;
  backend: SynthesisBackend;
  pretrain: PretrainRow[];
  sftCommon: SftRow[];
  sftComplex: SftRow[];
  dpo: DpoRow[];
  evalMcq: McqRow[];
  subsets: DepartmentSubsets;
  trainCount: Map<string, number>;
  contamination: ContaminationReport;
  paraphrase: ParaphraseReport;
  corpus?: CorpusSettings;
}

/** Builds the synthesis report (no timings, so equal runs give byte-identical reports). */
export function buildReport(x: ReportInputs): SynthesisReport {
  const kept = [
    ...x.out.common.map((c) => c.instruction),
    ...x.out.complex.map((c) => c.instruction),
  ];
  const mean = (f: (s: (typeof kept)[number]['scores']) => number): number =>
    kept.length
      ? Math.round((kept.reduce((s, k) => s + f(k.scores), 0) / kept.length) * 1000) / 1000
      : 0;
  const histogram = Array.from(
    { length: 11 },
    (_, d) => kept.filter((k) => k.scores.difficulty === d).length,
  );
  const known = kept.filter((k) => k.facts.conditionId);
  const truth = (k: (typeof kept)[number]): { department: string; subdepartment: string } =>
    x.kb.byId.get(k.facts.conditionId!)!;
  const rejects: Record<string, Record<string, number>> = {};
  for (const r of x.out.rejections)
    (rejects[r.stage] ??= {})[r.reason] = (rejects[r.stage]?.[r.reason] ?? 0) + 1;
  const sft = [...x.sftCommon, ...x.sftComplex];
  const tiers = frequencyTiers(x.trainCount);
  const evalPer = countBy(x.evalMcq, (r) => r.condition_id);
  const corpusTexts = x.docs.filter((d) => d.origin === 'corpus').length;
  return {
    notice: NOT_FOR_CLINICAL_USE,
    generator: x.backend.generator,
    knobs: x.knobs,
    corpus: x.corpus ? { path: x.corpus.path, texts: corpusTexts } : null,
    counts: {
      conditions: x.world.conditions.length,
      texts: x.docs.length,
      kbPassages: x.docs.length - corpusTexts,
      corpusTexts,
      candidates: x.out.pairs.length * 2,
      selected: kept.length,
      droppedBothMentionDetails: x.out.pairs.filter((p) => p.pick === 0).length,
      common: x.sftCommon.length,
      complex: x.sftComplex.length,
      dpo: x.dpo.length,
      eval: x.evalMcq.length,
      rejected: x.out.rejections.length,
    },
    selection: countBy(x.out.pairs, (p) => p.rule),
    scores: {
      quality: mean((s) => s.quality),
      difficulty: mean((s) => s.difficulty),
      relevance: mean((s) => s.relevance),
      difficultyHistogram: histogram,
    },
    rejects,
    departments: {
      primary: countBy(sft, (r) => r.department),
      secondary: countBy(sft, (r) => r.subdepartment ?? 'none'),
    },
    labelAgreement: {
      checked: known.length,
      primary: known.filter((k) => k.department === truth(k).department).length,
      secondary: known.filter((k) => k.subdepartment === truth(k).subdepartment).length,
    },
    dpo: countBy(x.dpo, (r) => r.rejected_kind),
    conditions: x.world.conditions.map((c) => ({
      id: c.id,
      name: c.name,
      department: c.department,
      subdepartment: c.subdepartment,
      weight: Math.round(x.world.weight.get(c.id)! * 1e6) / 1e6,
      trainCount: x.trainCount.get(c.id) ?? 0,
      evalItems: evalPer[c.id] ?? 0,
      tier: tiers.get(c.id) ?? 'rare',
    })),
    backend: x.backend.stats(),
    contamination: x.contamination,
    paraphrase: x.paraphrase,
    files: {
      'pretrain.jsonl': x.pretrain.length,
      'sft_common.jsonl': x.sftCommon.length,
      'sft_complex.jsonl': x.sftComplex.length,
      'sft_department.jsonl': x.subsets.department.rows.length,
      'sft_subdepartment.jsonl': x.subsets.subdepartment.rows.length,
      'dpo.jsonl': x.dpo.length,
      'eval_mcq.jsonl': x.evalMcq.length,
      'eval_mcq_paraphrased.jsonl': x.evalMcq.length,
    },
  };
}
