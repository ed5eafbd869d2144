import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from './version.ts';

/**
 * The folder of real public benchmark files and corpus (`../shared/data` beside the project,
 * or `$FINEMED_SHARED_DATA`), or undefined when this machine has none (a user's fresh clone).
 * Tests that need it skip with a visible reason when it is undefined.
 */
export function sharedDataDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.FINEMED_SHARED_DATA
    ? resolve(env.FINEMED_SHARED_DATA)
    : join(projectRoot, '..', 'shared', 'data');
  return existsSync(dir) ? dir : undefined;
}
