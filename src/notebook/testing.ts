// Test support: headless notebook sessions on a jsdom document, served by a kernel with the test
// jobs over an in-process transport. Node only.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Inputs from '@observablehq/inputs';
import { ArtifactStore } from '../core/artifacts.ts';
import { KernelClient } from '../kernel/client.ts';
import { testJobs } from '../kernel/fixtures/test-jobs.ts';
import { Kernel } from '../kernel/kernel.ts';
import { serveKernel } from '../kernel/serve.ts';
import { inProcessPair } from '../kernel/transport.ts';
import { installDom, jsdomInputs } from './node/dom.ts';
import { parseNotebook } from './notebook-file.ts';
import type { SessionOptions } from './session.ts';

/** The jsdom window sessions render into; installed before the session module loads. */
// Notebook Kit's runtime module reads `document` when it loads, so the DOM comes first.
export const dom = installDom();
const { NotebookSession } = await import('./session.ts');

/** A session as the tests hold it. */
export type Session = InstanceType<typeof NotebookSession>;

/** What a test session may set besides the defaults (maxCostSeconds 10, jsdom Inputs). */
export interface TestSessionOptions extends Partial<Omit<SessionOptions, 'client'>> {
  /** A kernel to share between sessions (default: a fresh one on an empty store). */
  kernel?: Kernel;
}

const opened: (() => unknown)[] = [];

/** The text of a notebook of js cells, one per source, with ids 1, 2, 3... */
export function notebookOf(...sources: string[]): string {
  const cells = sources.map((s, i) => `  <script id="${i + 1}" type="module">\n${s}\n</script>\n`);
  return `<!doctype html>\n<notebook theme="air">\n  <title>t</title>\n${cells.join('')}</notebook>\n`;
}

/** Opens and starts a session on `text`; {@link closeSessions} disposes it and its kernel. */
export function openSession(
  text: string,
  options: TestSessionOptions = {},
): { session: Session; kernel: Kernel; client: KernelClient } {
  const { kernel: shared, ...sessionOptions } = options;
  const kernel =
    shared ??
    new Kernel({
      store: new ArtifactStore(mkdtempSync(join(tmpdir(), 'finemed-session-'))),
      jobs: testJobs,
      baseDir: options.base,
    });
  const [end, served] = inProcessPair();
  serveKernel(kernel, served);
  const client = new KernelClient(end);
  const session = new NotebookSession(parseNotebook(text, { parser: dom.parser }), {
    maxCostSeconds: 10,
    builtins: { Inputs: () => jsdomInputs(Inputs, dom) },
    ...sessionOptions,
    client,
  });
  opened.push(
    () => session.dispose(),
    () => kernel.close(),
  );
  session.start();
  return { session, kernel, client };
}

/** Disposes every session opened since the last call, and their kernels (call in afterEach). */
export async function closeSessions(): Promise<void> {
  for (const close of opened.splice(0)) await close();
}
