// Browser-safe: shared by the kernel (Node) and every client (renderer, browser, headless runner).
import { z } from 'zod';
import type { ArtifactFile, ArtifactMeta } from '../core/artifacts.ts';
import { AccessError, CancelledError, InputError } from '../core/errors.ts';
import type { ProgressEvent } from '../core/progress.ts';

/** The protocol version; a message with another version is refused. */
export const PROTOCOL_VERSION = 1;

/** Whether a job takes the single heavy slot (training, synthesis) or runs alongside. */
export type JobWeight = 'heavy' | 'light';

/** How long a job is expected to take, estimated from its parameters before it starts. */
export interface CostEstimate {
  /** Estimated wall time in seconds on this machine. */
  seconds: number;
  /** What the estimate is based on, e.g. `400 steps x 16 x 128 tokens`. */
  detail?: string;
}

/** Names a finished artifact in the kernel's content-addressed store. */
export interface ArtifactRef {
  /** The artifact kind (`dataset`, `checkpoint`, `eval`, ...). */
  kind: string;
  /** The artifact key (hash of its recipe). */
  key: string;
}

/** A registered job type, as clients see it. */
export interface JobInfo {
  /** The job's name, e.g. `synth` or `train.sft`. */
  name: string;
  /** One line on what it does. */
  summary: string;
  /** Heavy or light (see {@link JobWeight}). */
  weight: JobWeight;
  /** The kind of artifact it produces. */
  kind: string;
}

/** What the kernel says about itself on `hello`. */
export interface KernelInfo {
  /** The kernel's protocol version. */
  protocol: number;
  /** The code version that keys every artifact it makes. */
  codeVersion: string;
  /** The job types it can run. */
  jobs: JobInfo[];
}

/** An input file a job or a cell read, with the hash that pins its content. */
export interface InputFile {
  /** Absolute path on the kernel's machine. */
  path: string;
  /** Hex SHA-256 of its bytes. */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
}

/** What running a job would do, known before it starts. */
export interface JobPlan {
  /** The job's name. */
  job: string;
  /** The artifact the job produces (its key is known before it runs). */
  artifact: ArtifactRef;
  /** True when that artifact already exists, so running would reuse it at once. */
  cached: boolean;
  /** True when the kernel is already making that artifact, so running would join it. */
  running: boolean;
  /** Estimated cost of running it (zero when cached). */
  estimate: CostEstimate;
  /** The seed the job draws its randomness from. */
  seed: number;
  /** The input files the job reads, with their hashes. */
  files: InputFile[];
}

/** The outcome of a finished (or reused) job. */
export interface JobResult {
  /** The job's name. */
  job: string;
  /** The artifact it produced or reused. */
  artifact: ArtifactRef;
  /** True when the artifact existed and nothing ran. */
  reused: boolean;
  /** The job's summary (counts, final loss, an evaluation table...). */
  summary: unknown;
  /** The artifact's files with their hashes. */
  files: ArtifactFile[];
  /** The seed it ran with. */
  seed: number;
  /** The input files it read. */
  inputs: InputFile[];
  /** Every progress event the job reported (kept with the artifact, so a reuse can redraw its charts). */
  history: ProgressEvent[];
}

/** A text file read through the kernel, with its hash. */
export interface FileContent extends InputFile {
  /** The file's text (UTF-8). */
  text: string;
}

/** A file read through the kernel as bytes (`encoding: 'base64'`), with its hash. */
export interface BinaryFileContent extends InputFile {
  /** The file's bytes, base64-encoded. */
  base64: string;
}

/** How a `file` request wants the content: UTF-8 text (default) or base64 bytes. */
export type FileEncoding = 'utf8' | 'base64';

/** What a `file` request in encoding `E` answers: text for `utf8`, bytes for `base64`. */
export type FileReply<E extends FileEncoding> = E extends 'base64'
  ? BinaryFileContent
  : FileContent;

/** A job the kernel is running or holding in its queue. */
export interface JobStatus {
  /** The kernel's id for the execution. */
  id: string;
  /** The job's name. */
  job: string;
  /** The artifact it will produce. */
  artifact: ArtifactRef;
  /** Queued or running. */
  state: 'queued' | 'running';
  /** The latest progress event. */
  progress?: ProgressEvent;
  /** How many client requests are attached to it. */
  subscribers: number;
  /** Where its watchers asked for it, for those that said (one per watcher, in order of arrival). */
  origins: RunOrigin[];
}

/** Where a run was asked for, so a jobs list can point back to it. */
export interface RunOrigin {
  /** The notebook's display name (its file name). */
  notebook: string;
  /** The id of the cell that started the run. */
  cell?: number;
}

/** A step in a job's life before its result, as every watcher sees it. */
export type JobEvent =
  | { type: 'queued'; position: number }
  | { type: 'started' }
  | { type: 'progress'; event: ProgressEvent };

/** How a run is asked for, in process or through a client: the run request's fields, and who watches. */
export interface RunOptions {
  /** The folder relative paths in the parameters are resolved against. */
  base?: string;
  /** Where the run was asked for. */
  origin?: RunOrigin;
  /** Sees the run's queueing and progress. */
  onEvent?: (event: JobEvent) => void;
}

/** An error as it crosses the wire. */
export interface WireError {
  /** The error class name (`InputError`, `AccessError` for a workspace-policy refusal, `CancelledError`, ...). */
  name: string;
  /** The error's message; for input errors it starts with the file, line or field. */
  message: string;
  /** For input errors: the reason without the location prefix. */
  reason?: string;
  /** For input errors: the file at fault. */
  file?: string;
  /** For input errors: the line at fault. */
  line?: number;
  /** For input errors: the field at fault. */
  field?: string;
}

const id = z.string().min(1).max(200);
/** Schema of an {@link ArtifactRef} (jobs use it for upstream artifacts in their parameters). */
export const artifactRefSchema = z.object({
  kind: z.string().regex(/^[a-z][a-z0-9-]*$/),
  key: z.string().regex(/^[0-9a-f]{8,64}$/),
});
const v = z.literal(PROTOCOL_VERSION);

/** Schema of every request a client may send; the kernel validates each one with it. */
export const requestSchema = z.discriminatedUnion('type', [
  z.object({ v, type: z.literal('hello'), id }),
  z.object({
    v,
    type: z.literal('plan'),
    id,
    job: z.string(),
    params: z.unknown(),
    base: z.string().optional(),
  }),
  z.object({
    v,
    type: z.literal('run'),
    id,
    job: z.string(),
    params: z.unknown(),
    base: z.string().optional(),
    origin: z
      .object({ notebook: z.string().min(1).max(500), cell: z.number().int().min(0).optional() })
      .optional(),
  }),
  z.object({ v, type: z.literal('cancel'), id, target: id, immediate: z.boolean().optional() }),
  z.object({ v, type: z.literal('artifact'), id, ref: artifactRefSchema }),
  z.object({
    v,
    type: z.literal('file'),
    id,
    path: z.string().min(1),
    base: z.string().optional(),
    artifact: artifactRefSchema.optional(),
    encoding: z.enum(['utf8', 'base64']).optional(),
  }),
  z.object({ v, type: z.literal('status'), id }),
]);

/** A request from a client to the kernel. */
export type Request = z.infer<typeof requestSchema>;

/** A request without its envelope fields, as client code builds it. */
export type RequestBody = Request extends infer R
  ? R extends Request
    ? Omit<R, 'v' | 'id'>
    : never
  : never;

/** A message from the kernel to a client; each answers the request with the same `id`. */
export type Reply =
  | { v: 1; type: 'reply'; id: string; value: unknown }
  | { v: 1; type: 'queued'; id: string; position: number }
  | { v: 1; type: 'started'; id: string }
  | { v: 1; type: 'progress'; id: string; event: ProgressEvent }
  | { v: 1; type: 'result'; id: string; value: JobResult }
  | { v: 1; type: 'error'; id: string; error: WireError };

const replySchema = z.object({
  v,
  type: z.enum(['reply', 'queued', 'started', 'progress', 'result', 'error']),
  id,
});

/** Checks a message's envelope (version, type, id) and returns it as a reply. */
export function parseReply(message: unknown): Reply {
  replySchema.parse(message);
  return message as Reply;
}

/** The value a `reply` carries, by request type. */
export interface ReplyValues {
  /** Answer to `hello`. */
  hello: KernelInfo;
  /** Answer to `plan`. */
  plan: JobPlan;
  /** Answer to `cancel`: whether the target was found. */
  cancel: boolean;
  /** Answer to `artifact`: its metadata, or null when absent. */
  artifact: ArtifactMeta | null;
  /** Answer to `file`: text, or base64 bytes when asked for. */
  file: FileContent | BinaryFileContent;
  /** Answer to `status`. */
  status: JobStatus[];
}

/** Rebuilds an error from its wire form, keeping the classes callers test for. */
export function fromWireError(wire: WireError): Error {
  if (wire.name === 'CancelledError') return new CancelledError(wire.message);
  if (wire.name === 'AccessError' && wire.reason !== undefined) {
    return new AccessError(wire.reason, { file: wire.file, line: wire.line, field: wire.field });
  }
  if (wire.name === 'InputError' && wire.reason !== undefined) {
    return new InputError(wire.reason, { file: wire.file, line: wire.line, field: wire.field });
  }
  const error = new Error(wire.message);
  error.name = wire.name;
  return error;
}

/** Converts any thrown value into its wire form. */
export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const located = error as Error & {
    reason?: string;
    file?: string;
    line?: number;
    field?: string;
  };
  return {
    name: error.name,
    message: error.message,
    ...(located.reason === undefined ? {} : { reason: located.reason }),
    ...(located.file === undefined ? {} : { file: located.file }),
    ...(located.line === undefined ? {} : { line: located.line }),
    ...(located.field === undefined ? {} : { field: located.field }),
  };
}
