import type { Transport } from '../../notebook/index.ts';
import type { OperationName, OperationPayload, OperationResults } from '../server/operations.ts';

/** Commands from the desktop app's menus (and the page's own toolbar). */
export type AppCommand =
  | 'open'
  | 'open-recent'
  | 'save'
  | 'save-as'
  | 'run-all'
  | 'interrupt'
  | 'restart-kernel'
  | 'save-and-close';

/**
 * What the renderer needs from the shell it runs in: the `finemed serve` process (HTTP and a
 * WebSocket) or Electron's main process (IPC and a MessagePort to the kernel process).
 */
export interface Host {
  /** Which shell this is. */
  readonly shell: 'browser' | 'electron';
  /**
   * Runs a host operation; the host validates the payload. `keepalive` lets the call finish
   * after the page is gone (the last recovery write on close).
   */
  call<N extends OperationName>(
    name: N,
    payload: OperationPayload<N>,
    options?: { keepalive?: boolean },
  ): Promise<OperationResults[N]>;
  /** A connection to the kernel (a fresh kernel process when `restart` in Electron). */
  connectKernel(restart?: boolean): Promise<Transport>;
  /** A native file chooser, where there is one; the browser asks for a path in the page. */
  chooseNotebook?(): Promise<string | null>;
  /** A native save dialog, where there is one. */
  chooseSavePath?(suggested: string): Promise<string | null>;
  /** Receives menu commands; `open-recent` carries the file's path. */
  onCommand(listener: (command: AppCommand, path?: string) => void): void;
  /** Tells the shell whether there are unsaved edits (Electron asks before closing). */
  setDirty(dirty: boolean, path?: string): void;
  /** Closes the window (after a save requested by the close prompt). */
  close(): void;
  /** The last chance to keep unsaved edits when the page goes away. */
  onLeave(flush: () => void): void;
}
