import { join } from 'node:path';
import { z } from 'zod';
import type { RecipeContext } from '../job.ts';
import { artifactRefSchema } from '../protocol.ts';

/**
 * A file a job reads: a path (relative to the notebook's folder), or a file of an upstream
 * artifact, e.g. `{ dataset: wb.synth(...), file: 'pretrain.jsonl' }`.
 */
export const fileSource = z.union([
  z.string().min(1),
  z.object({ dataset: artifactRefSchema, file: z.string().regex(/^[\w.-]+$/) }),
]);

/** A {@link fileSource} value. */
export type FileSource = z.infer<typeof fileSource>;

/** Where a {@link fileSource} is on disk. */
export function sourcePath(
  source: FileSource,
  ctx: Pick<RecipeContext, 'resolvePath' | 'artifactDir'>,
): string {
  return typeof source === 'string'
    ? ctx.resolvePath(source)
    : join(ctx.artifactDir(source.dataset), source.file);
}
