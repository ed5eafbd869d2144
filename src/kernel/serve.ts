import { InputError } from '../core/errors.ts';
import type { Kernel, JobSubscription } from './kernel.ts';
import {
  PROTOCOL_VERSION,
  requestSchema,
  toWireError,
  type Reply,
  type Request,
  type ReplyValues,
} from './protocol.ts';
import {
  portTransport,
  webSocketTransport,
  type PortLike,
  type SocketLike,
  type Transport,
} from './transport.ts';

/** A client connection being served; closing it detaches its jobs. */
export interface KernelConnection {
  /** Closes the transport and lets go of this client's jobs. */
  close(): void;
}

/**
 * Serves `kernel` to the one client at the other end of `transport`. When the client goes
 * away, its jobs are detached: they keep running briefly in case it reconnects, then stop
 * unless another client watches them.
 */
export function serveKernel(kernel: Kernel, transport: Transport): KernelConnection {
  const runs = new Map<string, JobSubscription>();
  const send = (reply: Reply): void => {
    try {
      transport.send(reply);
    } catch {
      // The client is gone; its runs are being detached by the close handler.
    }
  };
  const answer = <T extends keyof ReplyValues>(id: string, value: ReplyValues[T]): void =>
    send({ v: PROTOCOL_VERSION, type: 'reply', id, value });
  const fail = (id: string, error: unknown): void =>
    send({ v: PROTOCOL_VERSION, type: 'error', id, error: toWireError(error) });

  const handle = async (request: Request): Promise<void> => {
    switch (request.type) {
      case 'hello':
        return answer<'hello'>(request.id, kernel.info());
      case 'plan':
        return answer<'plan'>(
          request.id,
          await kernel.plan(request.job, request.params, request.base),
        );
      case 'artifact':
        return answer<'artifact'>(request.id, await kernel.artifact(request.ref));
      case 'file':
        return answer<'file'>(
          request.id,
          await kernel.readFile(request.path, request.base, request.artifact, request.encoding),
        );
      case 'status':
        return answer<'status'>(request.id, kernel.status());
      case 'cancel': {
        const run = runs.get(request.target);
        if (run) run.detach(request.immediate ?? false);
        return answer<'cancel'>(request.id, run !== undefined || kernel.cancel(request.target));
      }
      case 'run': {
        const { id } = request;
        const subscription = kernel.run(request.job, request.params, {
          base: request.base,
          origin: request.origin,
          onEvent: (event) => send({ v: PROTOCOL_VERSION, id, ...event }),
        });
        runs.set(id, subscription);
        try {
          send({ v: PROTOCOL_VERSION, type: 'result', id, value: await subscription.result });
        } finally {
          runs.delete(id);
        }
      }
    }
  };

  const unsubscribe = transport.onMessage((message) => {
    const parsed = requestSchema.safeParse(message);
    if (!parsed.success) {
      const id = (message as { id?: unknown })?.id;
      const version = (message as { v?: unknown })?.v;
      const reason =
        version !== PROTOCOL_VERSION
          ? `protocol version ${String(version)} is not supported (kernel speaks ${PROTOCOL_VERSION})`
          : `malformed request: ${parsed.error.issues[0].message}`;
      fail(
        typeof id === 'string' ? id : '?',
        new InputError(reason, { field: parsed.error.issues[0].path.join('.') }),
      );
      return;
    }
    handle(parsed.data).catch((error) => fail(parsed.data.id, error));
  });
  transport.onClose(() => {
    unsubscribe();
    for (const run of runs.values()) run.detach(false);
    runs.clear();
  });
  return { close: () => transport.close() };
}

/** Serves `kernel` over a WebSocket connection (for `finemed serve`). */
export function attachKernelToWebSocket(kernel: Kernel, socket: SocketLike): KernelConnection {
  return serveKernel(kernel, webSocketTransport(socket));
}

/** Serves `kernel` over a message port (Electron IPC, `MessageChannel`). */
export function attachKernelToPort(kernel: Kernel, port: PortLike): KernelConnection {
  return serveKernel(kernel, portTransport(port));
}
