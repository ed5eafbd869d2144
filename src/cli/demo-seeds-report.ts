import { ladderCells } from '../eval/ladder-row.ts';
import { pooledRows } from '../eval/seeds.ts';
import type { SeedsResults } from './demo-seeds.ts';

const escape = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const row = (cells: string[], tag = 'td'): string =>
  `<tr>${cells.map((c) => `<${tag}>${escape(c)}</${tag}>`).join('')}</tr>`;
/** Records of plain-text cells as table rows under their keys. */
const table = (records: Record<string, string>[]): string =>
  [row(Object.keys(records[0] ?? {}), 'th'), ...records.map((r) => row(Object.values(r)))].join(
    '\n',
  );

const STYLE = `body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328 }
table { border-collapse: collapse; margin: 1rem 0; font-size: .9rem } th, td { padding: .25rem .6rem; border-bottom: 1px solid #d0d7de; text-align: right; white-space: nowrap }
th { white-space: normal; vertical-align: bottom } th:first-child, td:first-child, .per-seed :is(td, th):nth-child(2) { text-align: left } .notice { border: 2px solid #b3261e; background: #fdecea; color: #6b0f0a; padding: .6em 1em; border-radius: 6px; font-weight: 600 }`;

/**
 * The aggregate's report: the pooled ladder (chart and table), then every seed's ladder, with
 * links to the seed runs' own reports. Every figure comes from `results`.
 */
export function seedsReportHtml(results: SeedsResults, chartSvg: string): string {
  const seeds = results.seeds.join(', ');
  const pooled = table(ladderCells(pooledRows(results.pooled)));
  const perSeed = table(
    results.perSeed.flatMap(({ seed, rows }) =>
      ladderCells(rows).map((cells) => ({ seed: String(seed), ...cells })),
    ),
  );
  const links = results.runs.map(
    (r) => `<li><a href="${escape(`${r.dir}/report.html`)}">seed ${r.seed}</a></li>`,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>FineMedLM-o1 over seeds ${seeds}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>FineMedLM-o1 over seeds ${seeds} (preset ${escape(results.preset)})</h1>
<p class="notice">Not for clinical use: a small model trained on synthetic data, to study the recipe.</p>
<p>${escape(results.note)} Each rung is the mean accuracy over seeds, its whisker the range over seeds, each dot one seed; the label under a rung is the mean change from the previous stage, \u00b1 its sd over seeds, with the pooled McNemar p.</p>
${chartSvg}
<h2>Pooled over seeds</h2>
<p>Questions are items \u00d7 seeds; the accuracy and the change are means over seeds, the change \u00b1 its sd over seeds.</p>
<table class="pooled">
${pooled}
</table>
<h2>Each seed</h2>
<table class="per-seed">
${perSeed}
</table>
<p>The seed runs' own reports:</p>
<ul>${links.join('')}</ul>
</body>
</html>
`;
}
