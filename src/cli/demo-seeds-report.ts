import type { Spread } from '../eval/seeds.ts';
import type { SeedsResults } from './demo-seeds.ts';

const escape = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const signed = (d: number): string =>
  `${d > 0 ? '+' : d < 0 ? '\u2212' : '\u00b1'}${Math.abs(100 * d).toFixed(1)}`;
const pts = (d: number): string => `${signed(d)} pts`;
const pText = (p: number | null): string =>
  p === null ? '' : p < 0.001 ? '&lt;0.001' : p.toFixed(3);
const range = (s: Spread, f: (x: number) => string): string => `${f(s.min)} \u2013 ${f(s.max)}`;
const sd = (s: Spread): string => `${(100 * s.sd).toFixed(1)} pts`;
const row = (cells: string[], tag = 'td'): string =>
  `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;

const STYLE = `body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328 }
table { border-collapse: collapse; margin: 1rem 0; font-size: .9rem } th, td { padding: .25rem .6rem; border-bottom: 1px solid #d0d7de; text-align: right; white-space: nowrap }
th { white-space: normal; vertical-align: bottom } th:first-child, td:first-child, .per-seed :is(td, th):nth-child(2) { text-align: left } .notice { border: 2px solid #b3261e; background: #fdecea; color: #6b0f0a; padding: .6em 1em; border-radius: 6px; font-weight: 600 }`;

/**
 * The aggregate's report: the pooled ladder (chart and table), then every seed's ladder, with
 * links to the seed runs' own reports. Every figure comes from `results`.
 */
export function seedsReportHtml(results: SeedsResults, chartSvg: string): string {
  const seeds = results.seeds.join(', ');
  const pooled = results.pooled.map((r) =>
    row([
      escape(r.label),
      String(r.n),
      pct(r.acc.mean),
      sd(r.acc),
      range(r.acc, pct),
      r.delta ? pts(r.delta.mean) : '',
      r.delta ? sd(r.delta) : '',
      r.delta ? `${range(r.delta, signed)} pts` : '',
      r.delta ? `${r.c} / ${r.b}` : '',
      pText(r.p),
    ]),
  );
  const perSeed = results.perSeed.flatMap(({ seed, rows }) =>
    rows.map((r) =>
      row([
        String(seed),
        escape(r.label),
        String(r.n),
        pct(r.acc),
        `${pct(r.lo)} \u2013 ${pct(r.hi)}`,
        r.delta === null ? '' : pts(r.delta),
        r.delta === null ? '' : `${r.c} / ${r.b}`,
        pText(r.p),
      ]),
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
<p>${escape(results.note)} Each rung is the mean accuracy over seeds, its whisker the range over seeds, each dot one seed; the label under a rung is the mean change from the previous stage with the pooled McNemar p.</p>
${chartSvg}
<h2>Pooled over seeds</h2>
<table class="pooled">
${row(['stage', 'questions (items \u00d7 seeds)', 'mean accuracy', 'sd', 'min \u2013 max', 'mean change', 'sd', 'min \u2013 max', 'gained / lost', 'pooled McNemar p'], 'th')}
${pooled.join('\n')}
</table>
<h2>Each seed</h2>
<table class="per-seed">
${row(['seed', 'stage', 'questions', 'accuracy', '95% CI', 'vs previous', 'gained / lost', 'McNemar p'], 'th')}
${perSeed.join('\n')}
</table>
<p>The seed runs' own reports:</p>
<ul>${links.join('')}</ul>
</body>
</html>
`;
}
