// Worker threads start without the TypeScript loader the CLI and vitest use, so each job's
// worker registers tsx itself before loading the TypeScript job runner.
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
