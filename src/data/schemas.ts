import { z } from 'zod';

/** Provenance of a row: generator, stage, source document, seed. */
export const provenanceSchema = z
  .object({
    generator: z.string().min(1),
    stage: z.string().min(1),
    source_id: z.string().min(1),
    seed: z.number().int(),
  })
  .strict();

const label = { department: z.string().min(1), subdepartment: z.string().min(1).nullable() };

/** A row of `pretrain.jsonl`: one textbook passage or corpus chunk. */
export const pretrainRowSchema = z
  .object({
    id: z.string().min(1),
    text: z.string().min(1),
    kind: z.string().min(1),
    condition_id: z.string().nullable(),
    provenance: provenanceSchema,
  })
  .strict();

/** A chat message in TRL's conversational format. */
export const messageSchema = z
  .object({ role: z.enum(['system', 'user', 'assistant']), content: z.string().min(1) })
  .strict();

/** The paper's four instruction scores, as exported. */
export const scoresSchema = z
  .object({
    quality: z.number().int().min(1).max(10),
    difficulty: z.number().int().min(1).max(10),
    relevance: z.number().int().min(1).max(6),
    mentions_details: z.boolean(),
  })
  .strict();

/** A row of `sft_common.jsonl` / `sft_complex.jsonl` (TRL SFT `messages` plus our fields). */
export const sftRowSchema = z
  .object({
    id: z.string().min(1),
    messages: z.array(messageSchema).min(2),
    category: z.enum(['common', 'complex']),
    ...label,
    condition_id: z.string().nullable(),
    scores: scoresSchema,
    provenance: provenanceSchema,
  })
  .strict()
  .refine(
    (r) =>
      r.category === 'common' ||
      /^## Thought\n[\s\S]*\n## Summarization\n/m.test(r.messages[r.messages.length - 1].content),
    {
      message: 'a complex answer needs ## Thought and ## Summarization sections',
      path: ['messages'],
    },
  );

/** A row of `dpo.jsonl` (TRL DPO `prompt`/`chosen`/`rejected` plus our fields). */
export const dpoRowSchema = z
  .object({
    id: z.string().min(1),
    prompt: z.string().min(1),
    chosen: z.string().min(1),
    rejected: z.string().min(1),
    rejected_kind: z.enum(['anchored', 'direct']),
    ...label,
    condition_id: z.string().nullable(),
    provenance: provenanceSchema,
  })
  .strict()
  .refine((r) => r.chosen !== r.rejected, {
    message: 'chosen and rejected are identical',
    path: ['rejected'],
  });

const letter = z.enum(['A', 'B', 'C', 'D']);
const fourOptions = z
  .object({
    A: z.string().min(1),
    B: z.string().min(1),
    C: z.string().min(1),
    D: z.string().min(1),
  })
  .strict();

/** A row of `eval_mcq.jsonl`: MedQA's fields plus ours. */
export const mcqRowSchema = z
  .object({
    question: z.string().min(1),
    answer: z.string().min(1),
    options: fourOptions,
    answer_idx: letter,
    meta_info: z.string(),
    id: z.string().min(1),
    condition_id: z.string().min(1),
    ...label,
    lookalike_ids: z.array(z.string()),
    option_ids: fourOptions,
    frequency_tier: z.enum(['rare', 'medium', 'frequent']),
    train_count: z.number().int().min(0),
    provenance: provenanceSchema,
  })
  .strict()
  .refine((r) => r.options[r.answer_idx] === r.answer, {
    message: 'answer is not the option at answer_idx',
    path: ['answer'],
  })
  .refine((r) => new Set(Object.values(r.options)).size === 4, {
    message: 'options repeat',
    path: ['options'],
  });

/** Output row types. */
export type Provenance = z.infer<typeof provenanceSchema>;
/** A `pretrain.jsonl` row. */
export type PretrainRow = z.infer<typeof pretrainRowSchema>;
/** An `sft_common` or `sft_complex` row: a chat (`messages`) with its category. */
export type SftRow = z.infer<typeof sftRowSchema>;
/** A `dpo` row: a prompt with its chosen and rejected answers. */
export type DpoRow = z.infer<typeof dpoRowSchema>;
/** An evaluation row. */
export type McqRow = z.infer<typeof mcqRowSchema>;
