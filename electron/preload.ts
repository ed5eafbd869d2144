// The only bridge between the sandboxed page and the app: a fixed set of calls, each
// forwarded over IPC to the main process, which validates its payload.
import { contextBridge, ipcRenderer } from 'electron';
import {
  COMMAND_CHANNEL,
  KERNEL_PORT_CHANNEL,
  KERNEL_PORT_MESSAGE,
  bridgeOperations,
  bridgeShellCalls,
  ipcChannel,
  type FinemedBridge,
} from '../src/ui/app/bridge.ts';
import type { AppCommand } from '../src/ui/app/host.ts';

const calls = { ...bridgeOperations, ...bridgeShellCalls };
const bridge = Object.fromEntries(
  Object.entries(calls).map(([method, name]) => [
    method,
    (payload: unknown = {}) => ipcRenderer.invoke(ipcChannel(name), payload),
  ]),
) as unknown as Omit<FinemedBridge, 'onCommand'>;

const exposed: FinemedBridge = {
  ...bridge,
  onCommand(listener) {
    ipcRenderer.on(COMMAND_CHANNEL, (_event, command: AppCommand, path?: string) =>
      listener(command, path),
    );
  },
};

// MessagePorts cannot cross the context bridge; the documented way is a window message.
ipcRenderer.on(KERNEL_PORT_CHANNEL, (event) => {
  window.postMessage(KERNEL_PORT_MESSAGE, '*', event.ports);
});

contextBridge.exposeInMainWorld('finemed', exposed);
