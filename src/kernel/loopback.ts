import type { AddressInfo } from 'node:net';
import { MessageChannel } from 'node:worker_threads';
import { WebSocket, WebSocketServer } from 'ws';
import type { Kernel } from './kernel.ts';
import { attachKernelToPort, attachKernelToWebSocket, serveKernel } from './serve.ts';
import { inProcessPair, portTransport, webSocketTransport, type Transport } from './transport.ts';

/** A kernel served over every transport inside this process, for benchmarks and tests. */
export interface Loopback {
  /** Each transport's name and a function opening a new client connection over it. */
  transports: [name: string, connect: () => Transport][];
  /** Stops the WebSocket server. */
  close(): Promise<void>;
}

/** Serves `kernel` in-process, over a `MessageChannel`, and over a WebSocket on 127.0.0.1. */
export async function loopback(kernel: Kernel): Promise<Loopback> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (socket) => attachKernelToWebSocket(kernel, socket));
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    transports: [
      [
        'in-process',
        () => {
          const [client, served] = inProcessPair();
          serveKernel(kernel, served);
          return client;
        },
      ],
      [
        'MessageChannel',
        () => {
          const { port1, port2 } = new MessageChannel();
          attachKernelToPort(kernel, port2);
          return portTransport(port1);
        },
      ],
      ['WebSocket on 127.0.0.1', () => webSocketTransport(new WebSocket(url))],
    ],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
