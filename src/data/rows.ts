import type { EvalItem } from './evalset.ts';
import type { KnowledgeBase } from './knowledge.ts';
import type { CommonItem, ComplexItem } from './pipeline.ts';
import type { DpoRow, McqRow, PretrainRow, Provenance, SftRow } from './schemas.ts';
import type { SelectedInstruction, SourceDoc } from './types.ts';
import type { FrequencyTier } from './world.ts';

const provenance = (
  generator: string,
  stage: string,
  sourceId: string,
  seed: number,
): Provenance => ({
  generator,
  stage,
  source_id: sourceId,
  seed,
});

/** `pretrain.jsonl` rows: every passage and corpus chunk, as raw text. */
export function pretrainRows(docs: SourceDoc[], seed: number): PretrainRow[] {
  return docs.map((d) => ({
    id: d.id,
    text: d.text,
    kind: d.kind,
    condition_id: d.conditionId ?? null,
    provenance: provenance(
      d.origin === 'kb' ? 'offline-kb' : 'corpus',
      d.origin === 'kb' ? 'passage' : 'corpus-text',
      d.id,
      seed,
    ),
  }));
}

function sftRow(
  ins: SelectedInstruction,
  answer: string,
  stage: string,
  generator: string,
  seed: number,
): SftRow {
  return {
    id: ins.id,
    messages: [
      { role: 'user', content: ins.text },
      { role: 'assistant', content: answer },
    ],
    category: ins.category,
    department: ins.department,
    subdepartment: ins.subdepartment,
    condition_id: ins.facts.conditionId ?? null,
    scores: {
      quality: ins.scores.quality,
      difficulty: ins.scores.difficulty,
      relevance: ins.scores.relevance,
      mentions_details: ins.scores.mentionsDetails,
    },
    provenance: provenance(generator, stage, ins.sourceId, seed),
  };
}

/** SFT rows in TRL's conversational format: the kept direct answers and the long answers. */
export function sftRows(
  common: CommonItem[],
  complex: ComplexItem[],
  generator: string,
  seed: number,
): { common: SftRow[]; complex: SftRow[] } {
  return {
    common: common.map((c) =>
      sftRow(c.instruction, c.answers[c.chosen], 'common-answer', generator, seed),
    ),
    complex: complex.map((c) => sftRow(c.instruction, c.answer, 'long-reasoning', generator, seed)),
  };
}

/** Preference rows in TRL's format: chosen = the long answer, rejected = the anchored or direct answer. */
export function dpoRows(complex: ComplexItem[], generator: string, seed: number): DpoRow[] {
  return complex.map(({ instruction: ins, answer, rejected }) => ({
    id: ins.id.replace(/^ins-/, 'dpo-'),
    prompt: ins.text,
    chosen: answer,
    rejected: rejected.text,
    rejected_kind: rejected.kind,
    department: ins.department,
    subdepartment: ins.subdepartment,
    condition_id: ins.facts.conditionId ?? null,
    provenance: provenance(generator, 'preference', ins.sourceId, seed),
  }));
}

/** Evaluation rows in MedQA's format plus the condition, departments and training frequency. */
export function mcqRows(
  items: EvalItem[],
  kb: KnowledgeBase,
  trainCount: Map<string, number>,
  tiers: Map<string, FrequencyTier>,
  seed: number,
): McqRow[] {
  return items.map((item) => {
    const c = kb.byId.get(item.conditionId)!;
    return {
      question: item.question,
      answer: item.answer,
      options: item.options,
      answer_idx: item.answerIdx,
      meta_info: 'finemed-synthetic',
      id: item.id,
      condition_id: c.id,
      department: c.department,
      subdepartment: c.subdepartment,
      lookalike_ids: item.vignette.lookalikeIds,
      option_ids: item.ids,
      frequency_tier: tiers.get(c.id) ?? 'rare',
      train_count: trainCount.get(c.id) ?? 0,
      provenance: provenance('offline-kb', 'eval-vignette', item.id, seed),
    };
  });
}
