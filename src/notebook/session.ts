// Browser-safe: a notebook running on the Observable runtime, with training-aware reactivity.
import { toCell } from '@observablehq/notebook-kit';
import { Runtime, type Module } from '@observablehq/runtime';
import type { KernelClient } from '../kernel/client.ts';
import type { InputFile, JobPlan } from '../kernel/protocol.ts';
import {
  cellStateOf,
  compile,
  isBusy,
  newRecord,
  type CellRecord,
  type CellState,
} from './cell-record.ts';
import { ErrorOrigins, runAllCost, type RunAllCost } from './cell-origin.ts';
import { defineCell } from './define-cell.ts';
import type { JobRun, JobState } from './job-run.ts';
import type { Cell, CellSpec, Notebook } from './notebook-file.ts';
import { DEFAULT_PRESET } from './preset.ts';
import { standardLibrary, type Builtin } from './stdlib.ts';
import { Workbench } from './wb.ts';

export type { CellState } from './cell-record.ts';
export type { RunAllCost } from './cell-origin.ts';

/** Names a cell can read besides the library's: the runtime's own and each cell's `display`/`view`. */
const RUNTIME_NAMES = new Set(['invalidation', 'visibility', '@variable', 'display', 'view']);

/** What a session tells its listeners. */
export type SessionEvent =
  | { type: 'state'; cell: number; state: CellState; runs: number }
  | { type: 'value'; cell: number; name: string | null; value: unknown };

/** A cell as the UI and the report see it. */
export interface CellView {
  /** The cell (id, mode, source). */
  cell: Cell;
  /** Where it stands. */
  state: CellState;
  /** How many times it has been evaluated. */
  runs: number;
  /** The element its output is rendered into. */
  root: HTMLDivElement;
  /** The cell's own value (for declaration cells, the object of its outputs). */
  value: unknown;
  /** The latest value of each name the cell declares. */
  outputs: Record<string, unknown>;
  /** Milliseconds its latest evaluation took from the moment its code ran, jobs included. */
  ms: number;
  /** The latest state of each job its latest evaluation started. */
  jobs: JobState[];
}

/** How a session is set up. */
export interface SessionOptions {
  /** The kernel connection jobs and file reads go through. */
  client: KernelClient;
  /** The notebook's folder on the kernel's machine. */
  base?: string;
  /** The notebook's display name (its file name), shown with the jobs it starts. */
  notebook?: string;
  /** The preset cells see as `preset` (default `demo`). */
  preset?: string;
  /** Jobs estimated above this many seconds need approval unless already done (default 20). */
  maxCostSeconds?: number;
  /** Approve every job (headless runs). */
  autoApprove?: boolean;
  /** The document outputs are rendered in (default: the global one). */
  document?: Document;
  /** Where cell output roots are appended, in notebook order (optional). */
  container?: Element;
  /** Builtins replacing standard ones. */
  builtins?: Record<string, Builtin>;
}

/**
 * Runs a notebook: every cell on one Observable runtime module, so editing a cell re-runs
 * exactly its dependents. A cell whose job is estimated to cost more than `maxCostSeconds`
 * and has no finished artifact does not start it on its own: it becomes stale with the
 * estimate, and starts when the user runs the cell (or all cells).
 */
export class NotebookSession {
  /** The workbench API instance cells get (each cell gets a copy bound to it). */
  readonly workbench: Workbench;
  /** Every job plan made so far, for manifests (seeds, input files, artifacts). */
  readonly plans: { cell?: number; plan: JobPlan }[] = [];
  /** Every file cells read, for manifests. */
  readonly files: { cell?: number; file: InputFile }[] = [];
  /**
   * Keys of the artifacts this session computed. A cell that re-runs while its upstream still
   * reports progress asks for the same artifact again and is told it exists: the manifest must
   * still say this run made it.
   */
  readonly made = new Set<string>();
  private readonly runtime: Runtime;
  private readonly main: Module;
  private readonly records = new Map<number, CellRecord>();
  private readonly listeners = new Set<(event: SessionEvent) => void>();
  private readonly approved = new Set<string>();
  private readonly document: Document;
  private approveUntilSettled = false;
  private started = false;
  private readonly origins: ErrorOrigins;

  constructor(
    /** The notebook; edits through the session update it. */
    readonly notebook: Notebook,
    private readonly options: SessionOptions,
  ) {
    this.document = options.document ?? globalThis.document;
    this.workbench = new Workbench({
      client: options.client,
      base: options.base,
      notebook: options.notebook,
      maxCostSeconds: options.maxCostSeconds ?? 20,
      isApproved: (cell, key) => this.isApproved(cell, key),
      onJobCreated: (run) => this.jobCreated(run),
      onJobState: (run, state) => this.jobState(run, state),
      onPlan: (cell, plan) => this.plans.push({ cell, plan }),
      onFile: (cell, file) => this.files.push({ cell, file }),
      onAwait: (cell, run) => this.awaiting(cell, run),
    });
    const library = standardLibrary(
      this.workbench,
      options.preset ?? DEFAULT_PRESET,
      options.builtins,
    );
    this.runtime = new Runtime(library);
    this.origins = new ErrorOrigins(
      this.records,
      (name) => name in library || RUNTIME_NAMES.has(name) || name in globalThis,
    );
    this.main = this.runtime.module();
    for (const cell of notebook.cells) this.records.set(cell.id, this.record(cell));
  }

  /** Defines every cell, which starts running them. Call once the notebook is trusted. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const record of this.records.values()) this.define(record);
  }

  /** The cells in notebook order. */
  get cells(): CellView[] {
    return this.notebook.cells.map((cell) => this.cell(cell.id));
  }

  /** One cell's view. */
  cell(id: number): CellView {
    const r = this.get(id);
    return {
      cell: r.cell,
      state: r.state,
      runs: r.runs,
      root: r.display.root,
      value: r.values.get(null),
      outputs: Object.fromEntries([...r.values].filter(([name]) => name !== null)) as Record<
        string,
        unknown
      >,
      ms: r.ms,
      jobs: [...r.jobs.values()].filter((j) => j.generation === r.generation).map((j) => j.state),
    };
  }

  /** Subscribes to cell states and values; returns the unsubscribe function. */
  on(listener: (event: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replaces a cell's source and runs it (approved: the user asked for it). */
  edit(id: number, value: string): void {
    const r = this.get(id);
    r.cell = { ...r.cell, value };
    this.notebook.cells = this.notebook.cells.map((c) => (c.id === id ? r.cell : c));
    this.rerun(r);
  }

  /**
   * Inserts a cell at `index` (default: the end) and runs it; returns its id. `id` puts back
   * a removed cell under its own id (undo), so the cells that waited on its names resolve.
   */
  insert(spec: Omit<CellSpec, 'id'>, index = this.notebook.cells.length, id?: number): number {
    if (id !== undefined && this.records.has(id))
      throw new RangeError(`cell ${id} is already in this notebook`);
    if (!Number.isInteger(index) || index < 0 || index > this.notebook.cells.length)
      throw new RangeError(
        `cannot insert at ${index}: the notebook has ${this.notebook.cells.length} cells`,
      );
    id ??= Math.max(0, ...this.notebook.cells.map((c) => c.id)) + 1;
    const cell = toCell({ ...spec, id });
    this.notebook.cells = [
      ...this.notebook.cells.slice(0, index),
      cell,
      ...this.notebook.cells.slice(index),
    ];
    const r = this.record(cell);
    this.records.set(id, r);
    if (this.started) this.define(r);
    return id;
  }

  /**
   * Moves a cell so that it ends up at `index`. The runtime does not depend on order, so
   * nothing re-runs; only `notebook.cells` and the output container are reordered.
   */
  move(id: number, index: number): void {
    const r = this.get(id);
    const others = this.notebook.cells.filter((c) => c.id !== id);
    if (!Number.isInteger(index) || index < 0 || index > others.length)
      throw new RangeError(
        `cannot move cell ${id} to ${index}: the notebook has ${others.length + 1} cells`,
      );
    this.notebook.cells = [...others.slice(0, index), r.cell, ...others.slice(index)];
    this.place(r.display.root, id);
  }

  /** Removes a cell; its dependents see its names as undefined. */
  remove(id: number): void {
    const r = this.get(id);
    r.undefine();
    r.display.root.remove();
    this.records.delete(id);
    this.notebook.cells = this.notebook.cells.filter((c) => c.id !== id);
  }

  /** Runs a cell now, approving its jobs however costly (the Run button of a stale cell). */
  run(id: number): void {
    const r = this.get(id);
    for (const { state } of r.jobs.values()) {
      if (state.status === 'stale' && state.artifact) this.approved.add(state.artifact.key);
    }
    this.rerun(r);
  }

  /** What {@link runAll} would start that costs time (see {@link runAllCost}), in notebook order. */
  runAllCost(): RunAllCost {
    return runAllCost(this.notebook.cells.flatMap((c) => this.records.get(c.id) ?? []));
  }

  /** Runs every stale or failed cell and approves every job until the notebook settles. */
  async runAll(signal?: AbortSignal): Promise<void> {
    this.approveUntilSettled = true;
    try {
      if (!this.started) this.start();
      for (const r of this.records.values()) {
        const { kind } = r.state;
        if (kind === 'stale' || kind === 'error' || kind === 'cancelled') this.rerun(r);
      }
      await this.settled(signal);
    } finally {
      this.approveUntilSettled = false;
    }
  }

  /** Resolves once no cell is computing and no job is queued or running. */
  async settled(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      // Two macrotasks let the runtime schedule what a just-settled value makes dirty.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (this.quiet()) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 50);
        const off = this.on(done);
        function done(): void {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    }
  }

  /** Stops everything: generators end and running jobs are detached. */
  dispose(): void {
    this.runtime.dispose();
  }

  private record(cell: Cell): CellRecord {
    const root = this.document.createElement('div');
    root.className = 'finemed-cell-output';
    this.place(root, cell.id);
    return newRecord(cell, root);
  }

  /** Puts a cell's output root in the container before the next cell's (notebook order). */
  private place(root: HTMLElement, id: number): void {
    const container = this.options.container;
    if (!container) return;
    const index = this.notebook.cells.findIndex((c) => c.id === id);
    const next = this.notebook.cells.slice(index + 1).find((c) => this.records.has(c.id));
    container.insertBefore(root, next ? this.get(next.id).display.root : null);
  }

  private get(id: number): CellRecord {
    const r = this.records.get(id);
    if (!r) throw new RangeError(`no cell ${id} in this notebook`);
    return r;
  }

  private rerun(r: CellRecord): void {
    r.approvedGeneration = r.generation + 1;
    r.undefine();
    if (this.started) this.define(r);
  }

  private define(r: CellRecord): void {
    const id = r.cell.id;
    const wb = this.workbench.forCell(id);
    const compiled = compile(r.cell);
    r.inputs = compiled.inputs;
    r.names = [compiled.output ?? `cell ${id}`, ...compiled.outputs];
    const own = (error: unknown): never => {
      this.origins.thrown(r, error, compiled.code ?? '');
      throw error;
    };
    // A cell's time starts when its body runs, not while it waits for its inputs; what its
    // body throws is marked as its own error, so dependents that receive it say they wait.
    const body = compiled.body;
    compiled.body = (...inputs) => {
      r.startedAt = performance.now();
      r.computing = true;
      this.refresh(r);
      try {
        const value = body(...inputs);
        return value instanceof Promise ? value.catch(own) : value;
      } catch (error) {
        return own(error);
      }
    };
    r.undefine = defineCell(
      this.main,
      r.display,
      compiled,
      {
        pending: (name) => {
          if (name === null) {
            r.runs++;
            r.generation++;
            r.computing = false;
            r.values.clear();
            r.errors.clear();
          }
          r.pending.add(name);
          this.refresh(r);
        },
        fulfilled: (name, value) => {
          r.pending.delete(name);
          r.errors.delete(name);
          r.values.set(name, value);
          this.emit({ type: 'value', cell: id, name, value });
          this.refresh(r);
        },
        rejected: (name, error) => {
          r.pending.delete(name);
          r.values.delete(name);
          r.errors.set(name, error);
          this.origins.reported(r, error);
          this.refresh(r);
          return this.origins.shownInOutput(r, error);
        },
      },
      () => wb,
    );
  }

  private isApproved(cell: number | undefined, key: string): boolean {
    if (this.options.autoApprove || this.approveUntilSettled || this.approved.has(key)) return true;
    const r = cell === undefined ? undefined : this.records.get(cell);
    return r !== undefined && r.approvedGeneration === r.generation;
  }

  private jobCreated(run: JobRun): void {
    const r = run.current.cell === undefined ? undefined : this.records.get(run.current.cell);
    r?.jobs.set(run, { generation: r.generation, state: run.current });
  }

  private jobState(run: JobRun, state: JobState): void {
    if (state.result && !state.result.reused) this.made.add(state.result.artifact.key);
    const r = state.cell === undefined ? undefined : this.records.get(state.cell);
    const entry = r?.jobs.get(run);
    if (!r || !entry) return;
    entry.state = state;
    // Cells waiting on this job say where it stands, so all are brought up to date.
    this.update(r);
    this.refresh(r, true);
  }

  private awaiting(cell: number | undefined, run: JobRun | undefined): void {
    const r = cell === undefined ? undefined : this.records.get(cell);
    if (!r) return;
    r.awaiting = run;
    this.refresh(r);
  }

  private quiet(): boolean {
    if (this.runtime._computing) return false;
    for (const r of this.records.values()) if (isBusy(r)) return false;
    return true;
  }

  /** Updates a cell's state, then every other cell's, since waiting ones name what they wait on. */
  private refresh(r: CellRecord, always = false): void {
    if (!this.update(r) && !always) return;
    // A few passes settle chains that are not in notebook order.
    for (let pass = 0; pass < 4; pass++) {
      let changed = false;
      for (const other of this.records.values())
        if (other !== r && this.update(other)) changed = true;
      if (!changed) return;
    }
  }

  private update(r: CellRecord): boolean {
    for (const [run, entry] of r.jobs) if (entry.generation !== r.generation) r.jobs.delete(run);
    const next = cellStateOf(r, this.origins);
    const wasRunning = r.state.kind === 'running';
    if (next.kind !== 'running' && wasRunning) r.ms = performance.now() - r.startedAt;
    if (JSON.stringify(next) === JSON.stringify(r.state)) return false;
    r.state = next;
    this.emit({ type: 'state', cell: r.cell.id, state: next, runs: r.runs });
    return true;
  }

  private emit(event: SessionEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}
