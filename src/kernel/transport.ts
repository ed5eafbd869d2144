// Browser-safe: the same three transports serve Node, Electron and the browser.

/**
 * A two-way message channel between a kernel and one client. Every transport carries
 * messages as JSON text, so a message means the same in-process as over a socket.
 */
export interface Transport {
  /** Sends one JSON-serializable message. */
  send(message: unknown): void;
  /** Calls `listener` with each message received; returns an unsubscribe function. */
  onMessage(listener: (message: unknown) => void): () => void;
  /** Calls `listener` once when the other side goes away. */
  onClose(listener: () => void): void;
  /** Closes the channel. */
  close(): void;
}

/** A `MessagePort` of the browser, of `node:worker_threads`, or Electron's `MessagePortMain`. */
export interface PortLike {
  /** Posts a message to the other end. */
  postMessage(message: unknown): void;
  /** DOM and Node ports deliver `MessageEvent`s here. */
  addEventListener?(type: 'message' | 'close', listener: (event: object) => void): void;
  /** Electron's `MessagePortMain` only has Node-style events, also carrying `{ data }`. */
  on?(type: 'message' | 'close', listener: (event: object) => void): void;
  /** Browser and Electron ports queue messages until started. */
  start?(): void;
  /** Closes the port. */
  close?(): void;
}

/** A browser `WebSocket` or a socket of the `ws` package (both have this shape). */
export interface SocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Sends text. */
  send(data: string): void;
  /** Subscribes to `open`, `message` and `close`. */
  addEventListener(type: 'open' | 'message' | 'close', listener: (event: object) => void): void;
  /** Closes the socket. */
  close(): void;
}

/** Shared plumbing: listener sets, JSON decoding and a one-shot close. */
class Channel implements Transport {
  private readonly listeners = new Set<(message: unknown) => void>();
  private readonly closeListeners: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly shut: () => void,
  ) {}

  send(message: unknown): void {
    if (this.closed) throw new Error('transport is closed');
    this.write(JSON.stringify(message));
  }

  onMessage(listener: (message: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  close(): void {
    if (this.closed) return;
    this.shut();
    this.closedByPeer();
  }

  /** Delivers a received frame to the listeners. */
  receive(data: unknown): void {
    if (this.closed) return;
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data as Uint8Array);
    const message: unknown = JSON.parse(text);
    for (const listener of [...this.listeners]) listener(message);
  }

  /** Marks the channel closed and tells the close listeners, once. */
  closedByPeer(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}

/** Two connected in-process transports; delivery is asynchronous, as on a real channel. */
export function inProcessPair(): [Transport, Transport] {
  const deliver = (to: () => Channel, text: string): void => {
    queueMicrotask(() => to().receive(text));
  };
  const shut = (): void => {
    queueMicrotask(() => {
      a.closedByPeer();
      b.closedByPeer();
    });
  };
  const a: Channel = new Channel((text) => deliver(() => b, text), shut);
  const b: Channel = new Channel((text) => deliver(() => a, text), shut);
  return [a, b];
}

/** A transport over a message port (Electron IPC, `MessageChannel`, worker threads). */
export function portTransport(port: PortLike): Transport {
  const channel = new Channel(
    (text) => port.postMessage(text),
    () => port.close?.(),
  );
  const subscribe = port.addEventListener
    ? port.addEventListener.bind(port)
    : port.on
      ? port.on.bind(port)
      : undefined;
  if (!subscribe)
    throw new TypeError('portTransport: the port has neither addEventListener nor on');
  subscribe('message', (event) => channel.receive((event as { data?: unknown }).data));
  subscribe('close', () => channel.closedByPeer());
  port.start?.();
  return channel;
}

/** A transport over a WebSocket; messages sent before it opens are held until it does. */
export function webSocketTransport(socket: SocketLike): Transport {
  const OPEN = 1;
  const pending: string[] = [];
  const channel = new Channel(
    (text) => {
      if (socket.readyState === OPEN) socket.send(text);
      else pending.push(text);
    },
    () => socket.close(),
  );
  socket.addEventListener('open', () => {
    for (const text of pending.splice(0)) socket.send(text);
  });
  socket.addEventListener('message', (event) =>
    channel.receive((event as { data?: unknown }).data),
  );
  socket.addEventListener('close', () => channel.closedByPeer());
  return channel;
}
