import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration } from '../../core/progress.ts';
import { projectRoot } from '../../core/version.ts';
import { NOT_FOR_CLINICAL_USE } from '../../data/notice.ts';
import { failureOf } from '../cell-record.ts';
import { cellLabel } from '../notebook-file.ts';
import type { CellView } from '../session.ts';
import type { RunManifest } from './manifest.ts';

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #1b1e23; }
.notice { border: 2px solid #b3261e; background: #fdecea; color: #6b0f0a; padding: .6em 1em; border-radius: 6px; font-weight: 600; }
.facts { color: #555; font-size: 13px; }
.failed { border-left: 4px solid #b3261e; padding-left: .8em; }
section.cell { border-top: 1px solid #e3e5e8; padding: .6em 0; }
section.cell > header { font: 12px ui-monospace, monospace; color: #666; }
section.cell.error > header { color: #b3261e; }
details > summary { cursor: pointer; font-size: 12px; color: #666; }
pre.source { background: #f6f7f8; padding: .6em; white-space: pre-wrap; font-size: 13px; }
.finemed-table table { border-collapse: collapse; font-size: 13px; }
.finemed-table th, .finemed-table td { padding: 2px 10px; border-bottom: 1px solid #e3e5e8; text-align: right; }
.output { overflow-x: auto; }
.finemed-job { font: 13px ui-monospace, monospace; color: #333; }
.finemed-job progress { margin-right: .6em; vertical-align: middle; }
table.facts-table { border-collapse: collapse; font-size: 12px; }
table.facts-table td, table.facts-table th { border-bottom: 1px solid #e3e5e8; padding: 2px 8px; text-align: left; font-family: ui-monospace, monospace; }
`;

/** The stylesheets outputs need (inspector, inputs), inlined so the report stands alone. */
function libraryStyles(): string {
  const files = [
    ['@observablehq', 'inspector', 'dist', 'inspector.css'],
    ['@observablehq', 'inputs', 'dist', 'index.css'],
  ];
  return files
    .map((parts) => {
      try {
        return readFileSync(join(projectRoot, 'node_modules', ...parts), 'utf8');
      } catch {
        return '';
      }
    })
    .join('\n');
}

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A self-contained HTML report of a headless run: the notice, what ran where, each cell's
 * source and rendered output (SVG charts and tables included), and the artifacts and inputs.
 */
export function renderReport(cells: CellView[], manifest: RunManifest): string {
  const title = escapeHtml(manifest.notebook.title || 'Untitled notebook');
  const failed = cells.filter((c) => failureOf(c.state) !== undefined);
  const facts = [
    `preset <b>${escapeHtml(manifest.preset)}</b>`,
    `ran ${escapeHtml(manifest.startedAt)} for ${formatDuration(manifest.totalMs / 1000)}`,
    `finemed ${escapeHtml(manifest.versions.codeVersion)}`,
    `Node ${escapeHtml(manifest.versions.node)}`,
    `ONNX Runtime ${escapeHtml(manifest.versions.onnxruntime ?? 'not installed')}`,
    `${manifest.platform.cpus} x ${escapeHtml(manifest.platform.cpuModel)}`,
  ].join(' · ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title} · FineMed report</title>
<style>${STYLE}
${libraryStyles()}</style>
</head>
<body>
<header>
<h1>${title}</h1>
<p class="notice">${escapeHtml(NOT_FOR_CLINICAL_USE)}</p>
<p class="facts">${facts}</p>
${failed.length ? `<div class="failed"><p><b>${failed.length} cell(s) failed:</b></p><ul>${failed.map((c) => `<li><a href="#cell-${c.cell.id}">${escapeHtml(cellLabel(c.cell))}</a>: ${escapeHtml(failureOf(c.state) ?? '')}</li>`).join('')}</ul></div>` : ''}
</header>
<main>
${cells.map(renderCell).join('\n')}
</main>
<footer>
${renderArtifacts(manifest)}
${renderInputs(manifest)}
</footer>
</body>
</html>
`;
}

function renderCell(view: CellView): string {
  const { cell, state } = view;
  const open = cell.mode === 'js' || cell.mode === 'ts' ? ' open' : '';
  const header = `cell ${cell.id} · ${cell.mode} · ${state.kind} · ${Math.round(view.ms)} ms`;
  const failure = failureOf(state);
  const error = failure === undefined ? '' : `<pre class="error">${escapeHtml(failure)}</pre>`;
  return `<section class="cell ${state.kind}" id="cell-${cell.id}">
<header>${escapeHtml(header)}</header>
<details${open}><summary>source</summary><pre class="source"><code>${escapeHtml(cell.value)}</code></pre></details>
<div class="output">${view.root.innerHTML}</div>${error}
</section>`;
}

function renderArtifacts(manifest: RunManifest): string {
  if (manifest.artifacts.length === 0) return '';
  const rows = manifest.artifacts.map(
    (a) =>
      `<tr><td>${a.cell ?? ''}</td><td>${escapeHtml(a.job)}</td><td>${escapeHtml(a.kind)}/${escapeHtml(a.key)}${a.provenance ? `<br>from ${escapeHtml(a.provenance)}` : ''}</td><td>${a.seed}</td><td>${a.reused ? 'reused' : 'made'}</td></tr>`,
  );
  return `<h2>Artifacts</h2><table class="facts-table"><tr><th>cell</th><th>job</th><th>artifact</th><th>seed</th><th></th></tr>${rows.join('')}</table>`;
}

function renderInputs(manifest: RunManifest): string {
  if (manifest.inputs.length === 0) return '';
  const rows = manifest.inputs.map(
    (f) =>
      `<tr><td>${escapeHtml(f.path)}</td><td>${f.bytes}</td><td>${escapeHtml(f.sha256.slice(0, 16))}</td></tr>`,
  );
  return `<h2>Input files</h2><table class="facts-table"><tr><th>path</th><th>bytes</th><th>sha256</th></tr>${rows.join('')}</table>`;
}
