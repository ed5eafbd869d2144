import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ArtifactStore } from '../../core/artifacts.ts';
import { InputError } from '../../core/errors.ts';
import { finemedHome } from '../../core/home.ts';
import { WorkspacePolicy } from '../../core/workspace.ts';
import type { JobDefinition } from '../../kernel/job.ts';
import { Kernel } from '../../kernel/kernel.ts';
import { PROJECT_NOTEBOOKS } from '../../notebook/node/trust.ts';
import { bundleRenderer } from './bundle.ts';
import { hostHandlers } from './handlers.ts';
import { NotebookLibrary } from './notebooks.ts';
import { assertBindable, startUiServer, type UiServer } from './server.ts';

/** How `finemed serve` is set up. */
export interface WorkbenchServerOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (0 picks a free one). */
  port?: number;
  /** Required to bind a non-loopback address. */
  allowRemote?: boolean;
  /** The folder the notebook list shows (default the project's notebooks/). */
  notebooksDir?: string;
  /** The workbench's data folder (default FINEMED_HOME). */
  home?: string;
  /** Further folders cells may read files from (`--allow-read DIR`). */
  allowRead?: string[];
  /** The job types the kernel runs. */
  jobs: JobDefinition[];
}

/** A running workbench server with its kernel. */
export interface WorkbenchServer extends UiServer {
  /** The kernel its sockets talk to. */
  readonly kernel: Kernel;
}

/** Starts the kernel, bundles the renderer and serves both (see {@link startUiServer}). */
export async function startWorkbenchServer(
  options: WorkbenchServerOptions,
): Promise<WorkbenchServer> {
  assertBindable(options.host ?? '127.0.0.1', options.allowRemote ?? false);
  const home = options.home ?? finemedHome();
  const notebooksDir = resolve(options.notebooksDir ?? PROJECT_NOTEBOOKS);
  const store = new ArtifactStore(home);
  // One policy for the host operations and the kernel's file reads: a notebook the user opens
  // here makes its folder readable to the cells at once.
  const workspace = new WorkspacePolicy({ notebooksDir, home, allowRead: options.allowRead });
  const library = new NotebookLibrary({
    home,
    listDir: notebooksDir,
    trustedDirs: [PROJECT_NOTEBOOKS],
    workspace,
  });
  const kernel = new Kernel({ store, jobs: options.jobs, baseDir: notebooksDir, workspace });
  try {
    const server = await startUiServer({
      host: options.host,
      port: options.port,
      allowRemote: options.allowRemote,
      kernel,
      handlers: hostHandlers({ library, store, notebooksDir, shell: 'browser' }),
      // Built while the server starts listening: the URL is printed at once.
      bundle: bundleRenderer(),
    });
    return {
      ...server,
      kernel,
      close: async () => {
        await server.close();
        await kernel.close();
      },
    };
  } catch (error) {
    await kernel.close();
    throw error;
  }
}

/** Loads extra job types from modules: every exported job definition, or array of them. */
export async function loadJobModules(paths: string[]): Promise<JobDefinition[]> {
  const jobs = new Map<string, JobDefinition>();
  for (const path of paths) {
    const full = resolve(path);
    let exports: Record<string, unknown>;
    try {
      exports = (await import(pathToFileURL(full).href)) as Record<string, unknown>;
    } catch (error) {
      throw new InputError(`cannot load job module: ${(error as Error).message}`, { file: full });
    }
    const found = Object.values(exports)
      .flatMap((value) => (Array.isArray(value) ? value : [value]))
      .filter(isJobDefinition);
    if (found.length === 0) throw new InputError('exports no job definitions', { file: full });
    for (const job of found) jobs.set(job.name, job);
  }
  return [...jobs.values()];
}

function isJobDefinition(value: unknown): value is JobDefinition {
  const v = value as Partial<JobDefinition> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.name === 'string' &&
    typeof v.module === 'string' &&
    typeof v.kind === 'string' &&
    typeof v.recipe === 'function' &&
    typeof v.estimate === 'function'
  );
}
