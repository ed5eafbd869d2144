import { readFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ArtifactFile } from '../../core/artifacts.ts';
import { codeVersion, packageVersion, projectRoot } from '../../core/version.ts';
import type { ArtifactRef, InputFile } from '../../kernel/protocol.ts';
import { failureField } from '../cell-record.ts';
import { cellLabel } from '../notebook-file.ts';
import type { CellView, NotebookSession } from '../session.ts';

/** The `manifest.json` of a run: everything needed to say where its numbers came from. */
export interface RunManifest {
  /** Format marker. */
  format: 'finemed-manifest/1';
  /** The notebook that ran. */
  notebook: { path: string; sha256: string; title: string; cells: number };
  /** The preset it ran with. */
  preset: string;
  /** The run seed cells saw as `runSeed` (absent in manifests of older versions). */
  seed?: number;
  /** ISO times of start and end, and the total in milliseconds. */
  startedAt: string;
  /** ISO time the run ended. */
  finishedAt: string;
  /** Wall time of the whole run. */
  totalMs: number;
  /** Versions of the workbench, Node, ONNX Runtime and every dependency. */
  versions: {
    finemed: string;
    codeVersion: string;
    node: string;
    onnxruntime: string | null;
    packages: Record<string, string>;
  };
  /** The machine. */
  platform: {
    os: string;
    release: string;
    arch: string;
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
  };
  /** The seed of every job, by cell. */
  seeds: { cell?: number; job: string; artifact: ArtifactRef; seed: number }[];
  /** Every input file read (by cells or jobs), with its hash. */
  inputs: (InputFile & { cells: number[] })[];
  /** Every artifact the run made or reused, with its files' hashes. */
  artifacts: {
    cell?: number;
    job: string;
    kind: string;
    key: string;
    reused: boolean;
    seed: number;
    files: ArtifactFile[];
    /** Where a model made elsewhere came from (`model.import`: its export bundle, or unknown). */
    provenance?: string;
  }[];
  /** Each cell's outcome and timing. */
  cells: { id: number; label: string; mode: string; state: string; ms: number; error?: string }[];
}

/** What {@link buildManifest} is built from. */
export interface ManifestInput {
  /** The notebook file. */
  path: string;
  /** Its hash. */
  sha256: string;
  /** The preset the run used (`tiny`, `demo`, ...). */
  preset: string;
  /** The run seed. */
  seed: number;
  /** The finished session. */
  session: NotebookSession;
  /** Its cells as the run ended (default: as the session sees them). */
  views?: CellView[];
  /** Start time (epoch ms). */
  startedAt: number;
  /** End time (epoch ms). */
  finishedAt: number;
}

/** Describes a finished headless run. */
export function buildManifest(input: ManifestInput): RunManifest {
  const { session } = input;
  const views = input.views ?? session.cells;
  const inputs = new Map<string, InputFile & { cells: number[] }>();
  const addInput = (file: InputFile, cell: number | undefined): void => {
    const entry = inputs.get(file.path) ?? { ...file, cells: [] };
    if (cell !== undefined && !entry.cells.includes(cell)) entry.cells.push(cell);
    inputs.set(file.path, { ...entry, sha256: file.sha256, bytes: file.bytes });
  };
  for (const { cell, file } of session.files) addInput(file, cell);
  for (const { cell, plan } of session.plans) for (const file of plan.files) addInput(file, cell);
  const seeds = new Map<string, RunManifest['seeds'][number]>();
  for (const { cell, plan } of session.plans) {
    seeds.set(`${cell}:${plan.artifact.key}`, {
      cell,
      job: plan.job,
      artifact: plan.artifact,
      seed: plan.seed,
    });
  }
  const artifacts = views.flatMap((view) =>
    view.jobs.flatMap((state) =>
      state.result
        ? [
            {
              cell: view.cell.id,
              job: state.job,
              kind: state.result.artifact.kind,
              key: state.result.artifact.key,
              reused: state.result.reused && !session.made.has(state.result.artifact.key),
              seed: state.result.seed,
              files: state.result.files,
              ...provenanceOf(state.result.summary),
            },
          ]
        : [],
    ),
  );
  const cpuList = cpus();
  return {
    format: 'finemed-manifest/1',
    notebook: {
      path: input.path,
      sha256: input.sha256,
      title: session.notebook.title,
      cells: views.length,
    },
    preset: input.preset,
    seed: input.seed,
    startedAt: new Date(input.startedAt).toISOString(),
    finishedAt: new Date(input.finishedAt).toISOString(),
    totalMs: input.finishedAt - input.startedAt,
    versions: versions(),
    platform: {
      os: platform(),
      release: release(),
      arch: arch(),
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
    },
    seeds: [...seeds.values()],
    inputs: [...inputs.values()],
    artifacts,
    cells: views.map((view) => ({
      id: view.cell.id,
      label: cellLabel(view.cell),
      mode: view.cell.mode,
      state: view.state.kind,
      ms: Math.round(view.ms * 10) / 10,
      ...failureField(view),
    })),
  };
}

/** Versions of the workbench and of every installed dependency. */
function versions(): RunManifest['versions'] {
  const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const packages: Record<string, string> = {};
  for (const name of Object.keys(pkg.dependencies ?? {}).sort()) {
    const installed = installedVersion(name);
    if (installed) packages[name] = installed;
  }
  return {
    finemed: packageVersion(),
    codeVersion: codeVersion(),
    node: process.version,
    onnxruntime: installedVersion('onnxruntime-node') ?? null,
    packages,
  };
}

function installedVersion(name: string): string | undefined {
  try {
    const text = readFileSync(join(projectRoot, 'node_modules', name, 'package.json'), 'utf8');
    return (JSON.parse(text) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function provenanceOf(summary: unknown): { provenance?: string } {
  const provenance = (summary as { provenance?: unknown } | null)?.provenance;
  return typeof provenance === 'string' ? { provenance } : {};
}
