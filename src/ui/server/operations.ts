// The calls a renderer may make on its host (the `serve` process over HTTP, or Electron's
// main process over IPC). Both validate every payload with these schemas before acting.
import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import type { ArtifactPreview, ArtifactSummary } from './artifacts.ts';
import type { NotebookEntry, OpenedNotebook } from './notebooks.ts';

const path = z.string().min(1).max(4096);
const sha = z.string().regex(/^[0-9a-f]{64}$/, 'expected a hex SHA-256');
const notebookText = z.string().max(50_000_000);

/** The payload schema of each operation. */
export const operationSchemas = {
  'app.info': z.object({}).strict(),
  'notebooks.list': z.object({}).strict(),
  'notebook.open': z.object({ path }).strict(),
  // No `trusted` here: the server decides trust from what the user did, never from a request.
  'notebook.save': z.object({ path, text: notebookText }).strict(),
  'notebook.create': z.object({ title: z.string().trim().min(1).max(200) }).strict(),
  'notebook.rename': z.object({ path, name: z.string().min(1).max(255) }).strict(),
  'notebook.recover': z.object({ path, text: notebookText, baseSha256: sha }).strict(),
  'notebook.discardRecovery': z.object({ path }).strict(),
  'notebook.trust': z.object({ path, sha256: sha }).strict(),
  'artifacts.list': z.object({ kind: z.string().max(64).optional() }).strict(),
  'artifacts.preview': z
    .object({
      kind: z.string().regex(/^[a-z][a-z0-9-]*$/),
      key: z.string().regex(/^[0-9a-f]{8,64}$/),
    })
    .strict(),
};

/** The name of a host operation. */
export type OperationName = keyof typeof operationSchemas;

/** The validated payload of operation `N`. */
export type OperationPayload<N extends OperationName> = z.infer<(typeof operationSchemas)[N]>;

/** What the host says about itself. */
export interface AppInfo {
  /** The package version. */
  version: string;
  /** The folder the notebook list shows. */
  notebooksDir: string;
  /** Where the host runs: a browser tab served by `finemed serve`, or the desktop app. */
  shell: 'browser' | 'electron';
}

/** The result of each operation. */
export interface OperationResults {
  /** See {@link AppInfo}. */
  'app.info': AppInfo;
  /** Project notebooks, then recent files. */
  'notebooks.list': NotebookEntry[];
  /** The file's text, trust state and recovered edits. */
  'notebook.open': OpenedNotebook;
  /** The saved text's hash, and whether the server trusts it (see `NotebookLibrary.save`). */
  'notebook.save': { sha256: string; trusted: boolean };
  /** The new notebook, opened (in the notebooks folder, trusted). */
  'notebook.create': OpenedNotebook;
  /** The notebook's new path. */
  'notebook.rename': { path: string };
  /** Nothing; the recovery file is written. */
  'notebook.recover': null;
  /** Nothing; the recovery file is gone. */
  'notebook.discardRecovery': null;
  /** Nothing; the text's hash is trusted. */
  'notebook.trust': null;
  /** Finished artifacts, newest first. */
  'artifacts.list': ArtifactSummary[];
  /** One artifact's files, with tables and JSON read for display. */
  'artifacts.preview': ArtifactPreview;
}

/** Implementations of every operation, given validated payloads. */
export type OperationHandlers = {
  [N in OperationName]: (payload: OperationPayload<N>) => Promise<OperationResults[N]>;
};

/** True when `name` is an operation a renderer may call. */
export function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(operationSchemas, name);
}

/**
 * Validates a call from a renderer. A wrong name or a malformed payload is an
 * {@link InputError} naming the operation and the offending field.
 */
export function parseOperation<N extends OperationName>(
  name: string,
  payload: unknown,
): { name: N; payload: OperationPayload<N> } {
  if (!isOperationName(name)) throw new InputError(`unknown operation '${name}'`, { field: 'op' });
  const parsed = operationSchemas[name].safeParse(payload ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // An extra field (`trusted` on a save) is named itself, not as the payload.
    const extra = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : undefined;
    throw new InputError(`${name}: ${issue.message}`, {
      field: issue.path.length ? issue.path.join('.') : (extra ?? 'payload'),
    });
  }
  return { name: name as N, payload: parsed.data as OperationPayload<N> };
}

/** Validates and runs one call. */
export async function dispatchOperation(
  handlers: OperationHandlers,
  name: string,
  payload: unknown,
): Promise<unknown> {
  const call = parseOperation(name, payload);
  const handler = handlers[call.name] as (p: unknown) => Promise<unknown>;
  return handler(call.payload);
}
