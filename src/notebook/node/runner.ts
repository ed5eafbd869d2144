import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as Inputs from '@observablehq/inputs';
import { ArtifactStore } from '../../core/artifacts.ts';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic.ts';
import { InputError } from '../../core/errors.ts';
import { sha256 } from '../../core/hash.ts';
import { finemedHome } from '../../core/home.ts';
import { WorkspacePolicy } from '../../core/workspace.ts';
import { KernelClient } from '../../kernel/client.ts';
import type { JobDefinition } from '../../kernel/job.ts';
import { Kernel } from '../../kernel/kernel.ts';
import { serveKernel } from '../../kernel/serve.ts';
import { inProcessPair } from '../../kernel/transport.ts';
import { failureField, failureOf } from '../cell-record.ts';
import { cellLabel, parseNotebook } from '../notebook-file.ts';
import type { CellView, SessionEvent } from '../session.ts';
import { DEFAULT_PRESET, DEFAULT_RUN_SEED } from '../preset.ts';
import { cellTolerance } from '../tolerance.ts';
import { settleWithin, withTimeouts, type TimedOut } from './deadline.ts';
import { installDom, jsdomInputs } from './dom.ts';
import { buildManifest, type RunManifest } from './manifest.ts';
import { renderReport } from './report.ts';
import { toResultJson, type CellResult, type RunResults } from './results.ts';
import { NotebookTrust } from './trust.ts';

/** How a notebook is run headless. */
export interface HeadlessRunOptions {
  /** The notebook file. */
  notebook: string;
  /** Where report.html, results.json and manifest.json go. */
  outDir: string;
  /** The preset cells see (default `demo`). */
  preset?: string;
  /** The seed cells see as `runSeed` (default 1). */
  seed?: number;
  /** Trust this notebook (and remember it) even if it is not trusted yet. */
  trust?: boolean;
  /** The workbench folder (trust store; default artifact store). Default FINEMED_HOME. */
  home?: string;
  /** The artifact store (default the one in `home`). */
  store?: ArtifactStore;
  /** The job types the kernel runs. */
  jobs: JobDefinition[];
  /** Folders cells may read files from besides the notebook's own and `home` (`--allow-read`). */
  allowRead?: string[];
  /** Stops the run (Ctrl-C). */
  signal?: AbortSignal;
  /**
   * Ends the run after this many milliseconds even if cells are still at work (a generator
   * that never ends); those cells fail with the time limit. Default: no limit.
   */
  timeoutMs?: number;
  /** Sees every cell state and value as the run goes. */
  onEvent?: (event: SessionEvent) => void;
}

/** What a headless run produced. */
export interface HeadlessRun {
  /** The results written to results.json. */
  results: RunResults;
  /** The manifest written to manifest.json. */
  manifest: RunManifest;
  /** The report file. */
  reportPath: string;
  /** The cells that failed, with their errors (those cut off by the time limit included). */
  failed: { id: number; label: string; message: string }[];
  /** Whether the time limit ended the run, and which cells were still at work; null if it settled. */
  timedOut: TimedOut | null;
}

/**
 * Runs every cell of a notebook in Node (jsdom for outputs), approving every job, and writes
 * the report, results and manifest. A notebook runs only if trusted (see {@link NotebookTrust}).
 */
export async function runNotebookHeadless(options: HeadlessRunOptions): Promise<HeadlessRun> {
  const path = resolve(options.notebook);
  const home = options.home ?? finemedHome();
  const preset = options.preset ?? DEFAULT_PRESET;
  const seed = options.seed ?? DEFAULT_RUN_SEED;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read notebook: ${(error as NodeJS.ErrnoException).code}`, {
      file: path,
    });
  }
  const trust = new NotebookTrust(home);
  if (options.trust) await trust.trust(text);
  else if (!(await trust.isTrusted(path, text))) {
    throw new InputError(
      'this notebook is not trusted, so its code was not run; read it, then run it again with --trust',
      { file: path },
    );
  }
  const dom = installDom();
  const { NotebookSession } = await import('../session.ts');
  const notebook = parseNotebook(text, { parser: dom.parser });
  const tolerances = new Map(
    notebook.cells.map((c) => [c.id, cellTolerance(c.value, { file: path, cell: c.id })]),
  );
  const kernel = new Kernel({
    store: options.store ?? new ArtifactStore(home),
    jobs: options.jobs,
    baseDir: dirname(path),
    workspace: new WorkspacePolicy({
      notebooksDir: dirname(path),
      home,
      allowRead: options.allowRead,
    }),
  });
  const [clientEnd, kernelEnd] = inProcessPair();
  serveKernel(kernel, kernelEnd);
  const client = new KernelClient(clientEnd);
  const container = dom.document.createElement('main');
  dom.document.body.appendChild(container);
  const session = new NotebookSession(notebook, {
    client,
    base: dirname(path),
    preset,
    autoApprove: true,
    document: dom.document,
    container,
    builtins: {
      Inputs: () => jsdomInputs(Inputs, dom),
      width: () => 640,
      dark: () => false,
      runSeed: () => seed,
    },
  });
  const startedAt = Date.now();
  const off = options.onEvent ? session.on(options.onEvent) : undefined;
  try {
    session.start();
    const timedOut = await settleWithin(session, options.timeoutMs, options.signal);
    const views = withTimeouts(session.cells, timedOut);
    const manifest = buildManifest({
      views,
      path,
      sha256: sha256(text),
      preset,
      seed,
      session,
      startedAt,
      finishedAt: Date.now(),
    });
    const results: RunResults = {
      format: 'finemed-results/1',
      notebook: path,
      preset,
      cells: views.map((view) => cellResult(view, tolerances.get(view.cell.id))),
    };
    const reportPath = join(options.outDir, 'report.html');
    await writeJsonAtomic(join(options.outDir, 'results.json'), results);
    await writeJsonAtomic(join(options.outDir, 'manifest.json'), manifest);
    await writeFileAtomic(reportPath, renderReport(views, manifest));
    const failed = views.flatMap((v) => {
      const message = failureOf(v.state);
      return message === undefined ? [] : [{ id: v.cell.id, label: cellLabel(v.cell), message }];
    });
    return { results, manifest, reportPath, failed, timedOut };
  } finally {
    off?.();
    session.dispose();
    container.remove();
    client.close();
    await kernel.close();
  }
}

function cellResult(view: CellView, tolerance: CellResult['tolerance']): CellResult {
  const outputs = Object.entries(view.outputs)
    .map(([name, value]) => [name, toResultJson(value)] as const)
    .filter(([, value]) => value !== undefined);
  const value =
    view.cell.mode === 'js' || view.cell.mode === 'ts' ? toResultJson(view.value) : undefined;
  return {
    id: view.cell.id,
    label: cellLabel(view.cell),
    mode: view.cell.mode,
    state: view.state.kind,
    ...(tolerance ? { tolerance } : {}),
    ...(value !== undefined && outputs.length === 0 ? { value } : {}),
    ...(outputs.length > 0 ? { outputs: Object.fromEntries(outputs) } : {}),
    ...failureField(view),
  };
}
