// The desktop app's preload exposes exactly this object as `window.finemed`; the renderer
// reaches nothing else of Electron or Node.
import type { OperationName, OperationPayload, OperationResults } from '../server/operations.ts';
import type { AppCommand } from './host.ts';

/** Bridge methods that forward one host operation each, by method name. */
export const bridgeOperations = {
  appInfo: 'app.info',
  listNotebooks: 'notebooks.list',
  openNotebook: 'notebook.open',
  saveNotebook: 'notebook.save',
  createNotebook: 'notebook.create',
  renameNotebook: 'notebook.rename',
  saveRecovery: 'notebook.recover',
  discardRecovery: 'notebook.discardRecovery',
  trustNotebook: 'notebook.trust',
  listArtifacts: 'artifacts.list',
  previewArtifact: 'artifacts.preview',
} as const satisfies Record<string, OperationName>;

/** Bridge methods that ask the desktop shell itself (dialogs, the window, the kernel process). */
export const bridgeShellCalls = {
  chooseNotebook: 'dialog.openNotebook',
  chooseSavePath: 'dialog.saveNotebookAs',
  setDirty: 'window.setDirty',
  closeWindow: 'window.close',
  connectKernel: 'kernel.connect',
} as const;

/** The IPC channel of a host operation or bridge call. */
export function ipcChannel(name: string): string {
  return `finemed:${name}`;
}

/** The window message that hands the kernel's MessagePort from the preload to the page. */
export const KERNEL_PORT_MESSAGE = 'finemed:kernel-port';

/** The IPC channel that carries menu commands to the page. */
export const COMMAND_CHANNEL = 'finemed:command';

/** The IPC channel that carries the kernel's MessagePort to the preload. */
export const KERNEL_PORT_CHANNEL = 'finemed:kernel-port';

type Forwarded = {
  [K in keyof typeof bridgeOperations]: (
    payload: OperationPayload<(typeof bridgeOperations)[K]>,
  ) => Promise<OperationResults[(typeof bridgeOperations)[K]]>;
};

/** `window.finemed` in the desktop app. */
export interface FinemedBridge extends Forwarded {
  /** Shows the native open dialog; resolves with the chosen `.html` path or null. */
  chooseNotebook(): Promise<string | null>;
  /** Shows the native save dialog; resolves with the chosen path or null. */
  chooseSavePath(payload: { suggested: string }): Promise<string | null>;
  /** Tells the main process whether there are unsaved edits (it asks before closing). */
  setDirty(payload: { dirty: boolean; path?: string }): Promise<null>;
  /** Closes the window without asking again. */
  closeWindow(): Promise<null>;
  /** Asks for a kernel port (posted to the page as {@link KERNEL_PORT_MESSAGE}); `restart` starts a fresh kernel process. */
  connectKernel(payload: { restart: boolean }): Promise<null>;
  /** Receives menu commands; `open-recent` carries the file's path. */
  onCommand(listener: (command: AppCommand, path?: string) => void): void;
}
