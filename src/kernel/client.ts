// Browser-safe: the notebook runtime, the UI and the headless runner all talk to a kernel through this.
import {
  PROTOCOL_VERSION,
  fromWireError,
  parseReply,
  type ArtifactRef,
  type FileEncoding,
  type FileReply,
  type JobEvent,
  type JobResult,
  type Reply,
  type ReplyValues,
  type RequestBody,
  type RunOptions,
} from './protocol.ts';
import type { Transport } from './transport.ts';

/** A job started through a {@link KernelClient}. */
export interface RunHandle {
  /** The request id (also what `cancel` targets). */
  readonly id: string;
  /** Settles with the job's result or error. */
  readonly result: Promise<JobResult>;
  /** Stops watching; `immediate` stops the job for every watcher at once. */
  cancel(immediate?: boolean): Promise<boolean>;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  onEvent?: (event: JobEvent) => void;
}

/** Speaks the kernel protocol over any {@link Transport}. */
export class KernelClient {
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private closedError: Error | undefined;

  constructor(private readonly transport: Transport) {
    transport.onMessage((message) => this.receive(parseReply(message)));
    transport.onClose(() => {
      this.closedError = new Error('the kernel connection closed');
      for (const p of this.pending.values()) p.reject(this.closedError);
      this.pending.clear();
    });
  }

  /** The kernel's version and job types. */
  hello(): Promise<ReplyValues['hello']> {
    return this.request<'hello'>({ type: 'hello' });
  }

  /** What running a job would produce and cost. */
  plan(job: string, params: unknown, base?: string): Promise<ReplyValues['plan']> {
    return this.request<'plan'>({ type: 'plan', job, params, ...(base ? { base } : {}) });
  }

  /** Starts (or joins, or reuses) a job; `onEvent` sees queueing and progress. */
  run(job: string, params: unknown, options: RunOptions = {}): RunHandle {
    const { base, origin } = options;
    const { id, promise } = this.send(
      { type: 'run', job, params, ...(base ? { base } : {}), ...(origin ? { origin } : {}) },
      options.onEvent,
    );
    const result = promise as Promise<JobResult>;
    result.catch(() => undefined);
    return {
      id,
      result,
      cancel: (immediate = false) =>
        this.request<'cancel'>({ type: 'cancel', target: id, immediate }),
    };
  }

  /** Stops a kernel execution by the id {@link status} reports. */
  cancel(target: string): Promise<ReplyValues['cancel']> {
    return this.request<'cancel'>({ type: 'cancel', target, immediate: true });
  }

  /** A finished artifact's metadata, or null when absent. */
  artifact(ref: ArtifactRef): Promise<ReplyValues['artifact']> {
    return this.request<'artifact'>({ type: 'artifact', ref: { kind: ref.kind, key: ref.key } });
  }

  /**
   * Reads a file on the kernel's machine, with its hash (inside `artifact` when given): as text,
   * or with `encoding: 'base64'` as bytes. The kernel's workspace policy decides what it may read.
   */
  file<E extends FileEncoding = 'utf8'>(
    path: string,
    base?: string,
    artifact?: ArtifactRef,
    encoding?: E,
  ): Promise<FileReply<E>> {
    return this.send({
      type: 'file',
      path,
      ...(base ? { base } : {}),
      ...(artifact ? { artifact: { kind: artifact.kind, key: artifact.key } } : {}),
      ...(encoding === 'base64' ? { encoding } : {}),
    }).promise as Promise<FileReply<E>>;
  }

  /** The jobs the kernel is running or holding. */
  status(): Promise<ReplyValues['status']> {
    return this.request<'status'>({ type: 'status' });
  }

  /** Closes the connection; pending requests fail. */
  close(): void {
    this.transport.close();
  }

  private request<T extends keyof ReplyValues>(body: RequestBody): Promise<ReplyValues[T]> {
    return this.send(body).promise as Promise<ReplyValues[T]>;
  }

  private send(
    body: RequestBody,
    onEvent?: (event: JobEvent) => void,
  ): { id: string; promise: Promise<unknown> } {
    const id = `c${this.nextId++}`;
    const promise = new Promise<unknown>((resolve, reject) => {
      if (this.closedError) return reject(this.closedError);
      this.pending.set(id, { resolve, reject, onEvent });
      try {
        this.transport.send({ v: PROTOCOL_VERSION, id, ...body });
      } catch (error) {
        this.pending.delete(id);
        reject(error);
      }
    });
    return { id, promise };
  }

  private receive(reply: Reply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    switch (reply.type) {
      case 'reply':
      case 'result':
        this.pending.delete(reply.id);
        return pending.resolve(reply.value);
      case 'error':
        this.pending.delete(reply.id);
        return pending.reject(fromWireError(reply.error));
      default: {
        const { v: _v, id: _id, ...event } = reply;
        pending.onEvent?.(event as JobEvent);
      }
    }
  }
}
