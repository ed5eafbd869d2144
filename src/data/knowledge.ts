import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../core/errors.ts';
import { projectRoot } from '../core/version.ts';
import { loadDepartments, type DepartmentTaxonomy } from './departments.ts';

const phrase = z.string().trim().min(2).max(200);

const lookalikeSchema = z.object({ id: z.string().min(1), shared: phrase, clue: phrase }).strict();

const conditionSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be a kebab-case id'),
    name: phrase,
    subdepartment: z.string().min(1),
    patient: z
      .object({
        age: z.tuple([z.number().min(0).max(110), z.number().min(0).max(110)]),
        sex: z.enum(['any', 'female', 'male']),
        risks: z.array(phrase).min(1),
        setting: phrase.optional(),
      })
      .strict(),
    symptoms: z.array(phrase).min(2),
    signs: z.array(phrase).min(1),
    findings: z.array(phrase).min(1),
    management: phrase.max(300),
    wrongChoice: z
      .object({ choice: phrase, kind: z.enum(['drug', 'diagnosis', 'action']), why: phrase })
      .strict(),
    lookalikes: z.array(lookalikeSchema).min(2),
  })
  .strict();

const fileSchema = z
  .object({ department: z.string().min(1), conditions: z.array(z.unknown()).min(1) })
  .strict();

/** A condition's look-alike: a feature they share and a feature of this condition that tells them apart. */
export type Lookalike = z.infer<typeof lookalikeSchema>;

/** One condition of the knowledge base, with the primary department of the file it came from. */
export type Condition = z.infer<typeof conditionSchema> & {
  /** Primary department id (from the file). */
  department: string;
};

/** The validated knowledge base. */
export interface KnowledgeBase {
  /** Every condition, in file order (files sorted by name). */
  conditions: Condition[];
  /** Conditions by id. */
  byId: Map<string, Condition>;
  /** The department taxonomy the conditions are filed under. */
  taxonomy: DepartmentTaxonomy;
}

/** A knowledge file's content as read from disk, before validation. */
export interface KnowledgeFile {
  /** Where it came from, for error messages. */
  file: string;
  /** Its parsed JSON. */
  data: unknown;
}

/** Fewest symptoms + signs + findings a condition needs so that vignettes can vary. */
export const MIN_FEATURES = 6;

/** The built-in knowledge folder. */
export const DEFAULT_KNOWLEDGE_DIR = join(projectRoot, 'assets', 'knowledge');

/** A condition's presenting features: symptoms, then signs, then findings. */
export function featuresOf(c: Condition): string[] {
  return [...c.symptoms, ...c.signs, ...c.findings];
}

/** Reads every `*.json` in `dir` and validates it against `taxonomy`. */
export function loadKnowledgeBase(
  dir: string = DEFAULT_KNOWLEDGE_DIR,
  taxonomy: DepartmentTaxonomy = loadDepartments(),
): KnowledgeBase {
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort();
  if (names.length === 0) throw new InputError('no knowledge files (*.json)', { file: dir });
  const files = names.map((name) => {
    const file = join(dir, name);
    try {
      return { file, data: JSON.parse(readFileSync(file, 'utf8')) as unknown };
    } catch (error) {
      throw new InputError(`cannot read JSON: ${(error as Error).message}`, { file });
    }
  });
  return buildKnowledgeBase(files, taxonomy);
}

/**
 * Validates knowledge files: the schema of each condition, unique ids and names, departments
 * that exist, look-alikes that exist (and are not the condition itself), `shared`/`clue`
 * phrases taken from the condition's own features, and enough features for vignettes.
 * Throws an {@link InputError} naming the file, the condition and the field.
 */
export function buildKnowledgeBase(
  files: KnowledgeFile[],
  taxonomy: DepartmentTaxonomy,
): KnowledgeBase {
  const conditions: Condition[] = [];
  const where = new Map<string, { file: string; field: string }>();
  for (const { file, data } of files) {
    const parsedFile = fileSchema.safeParse(data);
    if (!parsedFile.success) {
      const issue = parsedFile.error.issues[0];
      throw new InputError(issue.message, { file, field: issue.path.join('.') });
    }
    const department = parsedFile.data.department;
    if (!taxonomy.primary.some((p) => p.id === department)) {
      throw new InputError(`unknown primary department '${department}'`, {
        file,
        field: 'department',
      });
    }
    parsedFile.data.conditions.forEach((raw, i) => {
      const id = (raw as { id?: unknown })?.id;
      const field = `conditions[${i}]${typeof id === 'string' ? ` (${id})` : ''}`;
      const parsed = conditionSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new InputError(issue.message, { file, field: `${field}.${issue.path.join('.')}` });
      }
      conditions.push({ ...parsed.data, department });
      where.set(parsed.data.id, { file, field });
    });
  }
  const byId = new Map<string, Condition>();
  const names = new Set<string>();
  for (const c of conditions) {
    const at = where.get(c.id)!;
    const fail = (reason: string, sub: string): never => {
      throw new InputError(reason, { file: at.file, field: `${at.field}.${sub}` });
    };
    if (byId.has(c.id)) fail(`duplicate condition id '${c.id}'`, 'id');
    if (names.has(c.name.toLowerCase())) fail(`duplicate condition name '${c.name}'`, 'name');
    byId.set(c.id, c);
    names.add(c.name.toLowerCase());
    const sub = taxonomy.secondaryById.get(c.subdepartment);
    if (!sub) fail(`unknown secondary department '${c.subdepartment}'`, 'subdepartment');
    if (sub && sub.primaryId !== c.department) {
      fail(
        `'${c.subdepartment}' belongs to '${sub.primaryId}', not '${c.department}'`,
        'subdepartment',
      );
    }
    if (c.patient.age[0] > c.patient.age[1]) fail('age band is [min, max]', 'patient.age');
    const features = featuresOf(c);
    if (features.length < MIN_FEATURES) {
      fail(
        `needs at least ${MIN_FEATURES} features to build vignettes, has ${features.length}`,
        'symptoms',
      );
    }
    if (new Set(features).size !== features.length) fail('a feature is listed twice', 'symptoms');
  }
  for (const c of conditions) {
    const at = where.get(c.id)!;
    const features = new Set(featuresOf(c));
    const seen = new Set<string>();
    c.lookalikes.forEach((l, j) => {
      const field = `${at.field}.lookalikes[${j}]`;
      const fail = (reason: string, sub: string): never => {
        throw new InputError(reason, { file: at.file, field: `${field}.${sub}` });
      };
      if (!byId.has(l.id)) fail(`look-alike '${l.id}' is not in the knowledge base`, 'id');
      if (l.id === c.id) fail('a condition cannot be its own look-alike', 'id');
      if (seen.has(l.id)) fail(`look-alike '${l.id}' is listed twice`, 'id');
      seen.add(l.id);
      if (!features.has(l.shared))
        fail(`'${l.shared}' is not one of this condition's features`, 'shared');
      if (!features.has(l.clue))
        fail(`'${l.clue}' is not one of this condition's features`, 'clue');
      if (l.shared === l.clue) fail('the shared feature cannot also be the clue', 'clue');
    });
  }
  return { conditions, byId, taxonomy };
}
