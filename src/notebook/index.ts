// Browser-safe entry of the notebook layer: what the UI bundles (nothing here imports `node:`).
export { KernelClient, type RunHandle } from '../kernel/client.ts';
export * from '../kernel/protocol.ts';
export {
  inProcessPair,
  portTransport,
  webSocketTransport,
  type PortLike,
  type SocketLike,
  type Transport,
} from '../kernel/transport.ts';
export {
  JobRun,
  WaitingError,
  isJobState,
  type JobOutcome,
  type JobState,
  type JobStatusKind,
} from './job-run.ts';
export { findKnobs, setKnobDefaults, type Knob } from './knobs.ts';
export {
  SUPPORTED_MODES,
  cellLabel,
  formatNotebook,
  parseNotebook,
  type Cell,
  type CellSpec,
  type Notebook,
} from './notebook-file.ts';
export { DEFAULT_PRESET, DEFAULT_RUN_SEED, PRESETS } from './preset.ts';
export { isTable, renderJobState, renderTable, type TableLike } from './render.ts';
export {
  NotebookSession,
  type CellState,
  type CellView,
  type RunAllCost,
  type SessionEvent,
  type SessionOptions,
} from './session.ts';
export { standardLibrary, type Builtin } from './stdlib.ts';
export { EXACT, cellTolerance, withinTolerance, type Tolerance } from './tolerance.ts';
export {
  WORKBENCH_JOBS,
  Workbench,
  artifactRef,
  type ArtifactLike,
  type WorkbenchHost,
} from './wb.ts';
