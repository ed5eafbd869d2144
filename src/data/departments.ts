import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../core/errors.ts';
import { projectRoot } from '../core/version.ts';

const slug = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be a kebab-case id');

const secondarySchema = z
  .object({ id: slug, name: z.string().min(1), keywords: z.array(z.string().min(1)) })
  .strict();

const primarySchema = z
  .object({
    id: slug,
    name: z.string().min(1),
    keywords: z.array(z.string().min(1)),
    secondary: z.array(secondarySchema).min(1),
  })
  .strict();

const taxonomySchema = z
  .object({ about: z.string().optional(), primary: z.array(primarySchema).length(6) })
  .strict();

/** A secondary (sub-)department, e.g. Cardiology. */
export type SecondaryDepartment = z.infer<typeof secondarySchema>;
/** A primary department with its secondary departments. */
export type PrimaryDepartment = z.infer<typeof primarySchema>;

/** The paper's taxonomy: 6 primary and 29 secondary departments. */
export interface DepartmentTaxonomy {
  /** Primary departments in the paper's order. */
  primary: PrimaryDepartment[];
  /** Every secondary department by id, with the id of its primary department. */
  secondaryById: Map<string, SecondaryDepartment & { primaryId: string }>;
}

/** A department label: primary and secondary ids. */
export interface DepartmentLabel {
  /** Primary department id, e.g. `internal-medicine`. */
  department: string;
  /** Secondary department id, e.g. `cardiology`; null when none fits (the paper's "None"). */
  subdepartment: string | null;
}

/** The number of secondary departments in the paper. */
export const SECONDARY_DEPARTMENT_COUNT = 29;

/** The built-in taxonomy file. */
export const DEFAULT_DEPARTMENTS_FILE = join(projectRoot, 'assets', 'departments.json');

/** Reads and validates a taxonomy file. */
export function loadDepartments(file: string = DEFAULT_DEPARTMENTS_FILE): DepartmentTaxonomy {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read JSON: ${(error as Error).message}`, { file });
  }
  return parseDepartments(raw, file);
}

/** Validates an in-memory taxonomy (as read from JSON). */
export function parseDepartments(raw: unknown, file?: string): DepartmentTaxonomy {
  const parsed = taxonomySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(issue.message, { file, field: issue.path.join('.') });
  }
  const secondaryById = new Map<string, SecondaryDepartment & { primaryId: string }>();
  for (const p of parsed.data.primary) {
    for (const s of p.secondary) {
      if (secondaryById.has(s.id)) {
        throw new InputError('duplicate secondary department id', { file, field: s.id });
      }
      secondaryById.set(s.id, { ...s, primaryId: p.id });
    }
  }
  if (secondaryById.size !== SECONDARY_DEPARTMENT_COUNT) {
    throw new InputError(
      `expected ${SECONDARY_DEPARTMENT_COUNT} secondary departments, found ${secondaryById.size}`,
      { file, field: 'primary' },
    );
  }
  return { primary: parsed.data.primary, secondaryById };
}

/** The label of a secondary department id (its primary department is implied). */
export function labelOf(taxonomy: DepartmentTaxonomy, subdepartment: string): DepartmentLabel {
  const s = taxonomy.secondaryById.get(subdepartment);
  if (!s) throw new Error(`unknown secondary department '${subdepartment}'`);
  return { department: s.primaryId, subdepartment };
}
