// Every IPC call the preload can make, and the validation the main process applies to each
// payload before acting on it.
import { z } from 'zod';
import { InputError } from '../src/core/errors.ts';
import type { bridgeShellCalls } from '../src/ui/app/bridge.ts';
import {
  isOperationName,
  operationSchemas,
  parseOperation,
  type OperationName,
} from '../src/ui/server/operations.ts';
import { APP_SCHEME } from './renderer-protocol.ts';

const path = z.string().min(1).max(4096);

/** Payload schemas of the calls only the desktop shell answers. */
export const shellCallSchemas = {
  'dialog.openNotebook': z.object({}).strict(),
  'dialog.saveNotebookAs': z.object({ suggested: path }).strict(),
  'window.setDirty': z.object({ dirty: z.boolean(), path: path.optional() }).strict(),
  'window.close': z.object({}).strict(),
  'kernel.connect': z.object({ restart: z.boolean() }).strict(),
} satisfies Record<(typeof bridgeShellCalls)[keyof typeof bridgeShellCalls], z.ZodType>;

/** A call the renderer may ask of the Electron shell (each checked by its schema above). */
export type ShellCallName = keyof typeof shellCallSchemas;

/** A validated IPC call. */
export type IpcCall =
  | { kind: 'operation'; name: OperationName; payload: unknown }
  | {
      [N in ShellCallName]: {
        kind: 'shell';
        name: N;
        payload: z.infer<(typeof shellCallSchemas)[N]>;
      };
    }[ShellCallName];

/** Every IPC call name the main process listens for. */
export const ipcCallNames: string[] = [
  ...Object.keys(operationSchemas),
  ...Object.keys(shellCallSchemas),
];

/**
 * Validates one IPC call from a renderer: the name must be on the allow-list and the payload
 * must match its schema exactly (no extra fields). Anything else is an {@link InputError}
 * that names the call and the offending field.
 */
export function validateIpc(name: string, payload: unknown): IpcCall {
  if (isOperationName(name)) {
    const call = parseOperation(name, payload);
    return { kind: 'operation', name: call.name, payload: call.payload };
  }
  if (!Object.hasOwn(shellCallSchemas, name)) {
    throw new InputError(`unknown IPC call '${name}'`, { field: 'channel' });
  }
  const schema = shellCallSchemas[name as ShellCallName];
  const parsed = schema.safeParse(payload ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(`${name}: ${issue.message}`, {
      field: issue.path.length ? issue.path.join('.') : 'payload',
    });
  }
  return { kind: 'shell', name, payload: parsed.data } as IpcCall;
}

/** True when an IPC message comes from the app's own page (not a navigated-away or foreign frame). */
export function isAppFrame(url: string | undefined): boolean {
  return url !== undefined && url.startsWith(`${APP_SCHEME}://app/`);
}
