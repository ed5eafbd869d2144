import { portTransport } from '../../notebook/index.ts';
import { KERNEL_PORT_MESSAGE, bridgeOperations, type FinemedBridge } from './bridge.ts';
import type { Host } from './host.ts';
import type { OperationName, OperationResults } from '../server/operations.ts';

/** The bridge the desktop app's preload put on the window, if this page runs there. */
export function electronBridge(): FinemedBridge | undefined {
  return (window as unknown as { finemed?: FinemedBridge }).finemed;
}

/** The host of a page in the desktop app: every call goes through the preload's bridge. */
export function electronHost(bridge: FinemedBridge): Host {
  const byOperation = Object.fromEntries(
    Object.entries(bridgeOperations).map(([method, operation]) => [
      operation,
      bridge[method as keyof typeof bridgeOperations] as (payload: unknown) => Promise<unknown>,
    ]),
  ) as Record<OperationName, (payload: unknown) => Promise<unknown>>;
  return {
    shell: 'electron',
    call: (name, payload) => byOperation[name](payload) as Promise<OperationResults[typeof name]>,
    connectKernel(restart = false) {
      return new Promise((resolve) => {
        const onMessage = (event: MessageEvent): void => {
          if (event.source !== window || event.data !== KERNEL_PORT_MESSAGE) return;
          window.removeEventListener('message', onMessage);
          resolve(portTransport(event.ports[0]));
        };
        window.addEventListener('message', onMessage);
        void bridge.connectKernel({ restart });
      });
    },
    chooseNotebook: () => bridge.chooseNotebook(),
    chooseSavePath: (suggested) => bridge.chooseSavePath({ suggested }),
    onCommand: (listener) => bridge.onCommand(listener),
    setDirty: (dirty, path) => void bridge.setDirty({ dirty, ...(path ? { path } : {}) }),
    close: () => void bridge.closeWindow(),
    onLeave: (flush) => window.addEventListener('beforeunload', flush),
  };
}
