import { axisBottom, axisLeft, format, scaleBand, scaleLinear, select, type Selection } from 'd3';
import { ladderFormat, type LadderRow } from './ladder-row.ts';

/** Size and document of a gain-ladder chart. */
export interface LadderOptions {
  /** Width in pixels (default 640). */
  width?: number;
  /** Height in pixels (default 320). */
  height?: number;
  /** The document to build in: the page's, or a jsdom window's in Node. */
  document: Document;
  /** Chart title (default `Accuracy by stage`). */
  title?: string;
  /** Extra points on the rungs, e.g. each seed's accuracy under a mean over seeds. */
  points?: readonly LadderPoint[];
  /** Accuracy of guessing, drawn as a dashed line across the chart when given. */
  chance?: number;
}

/** One extra point on a rung: a dot at `acc` on the stage `label`, titled `name`. */
export interface LadderPoint {
  /** The stage (a rung's label). */
  label: string;
  /** Where the dot sits. */
  acc: number;
  /** What the dot is (its tooltip and `data-name`), e.g. `seed 2`. */
  name: string;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const MARGIN = { top: 36, right: 20, bottom: 36, left: 48 };
/** Right margin with a chance line: room for its label beside the plot. */
const CHANCE_RIGHT = 84;
/** Tenths of a pixel: enough for any screen, and snapshots stay readable. */
const px = (v: number): number => Math.round(v * 10) / 10;

/**
 * The gain ladder as an SVG element: one rung per stage at its accuracy with its 95%
 * interval as a whisker, a step line joining the rungs, and each rung's gain over the one
 * before it with the McNemar p-value. d3 builds it inside `document`, so the same code
 * renders in the browser and, with jsdom, in Node.
 */
export function ladderSvg(rows: readonly LadderRow[], opts: LadderOptions): SVGSVGElement {
  const width = opts.width ?? 640;
  const height = opts.height ?? 320;
  const marginRight = opts.chance === undefined ? MARGIN.right : CHANCE_RIGHT;
  const svgNode = opts.document.createElementNS(SVG_NS, 'svg') as SVGSVGElement;
  const svg = select(svgNode)
    .attr('xmlns', SVG_NS)
    .attr('class', 'gain-ladder')
    .attr('width', width)
    .attr('height', height)
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('font-family', 'system-ui, sans-serif')
    .attr('font-size', 11);
  const points = opts.points ?? [];
  const finite = [
    ...rows.flatMap((r) => [r.lo, r.hi, r.acc]),
    ...points.map((d) => d.acc),
    ...(opts.chance === undefined ? [] : [opts.chance]),
  ].filter(Number.isFinite);
  const low = Math.max(0, Math.floor((Math.min(1, ...finite) - 0.05) * 10) / 10);
  const high = Math.min(1, Math.ceil((Math.max(0, ...finite) + 0.05) * 10) / 10);
  const x = scaleBand<string>()
    .domain(rows.map((r) => r.label))
    .range([MARGIN.left, width - marginRight])
    .padding(0.3);
  const y = scaleLinear()
    .domain([low, high])
    .range([height - MARGIN.bottom, MARGIN.top]);
  svg
    .append('text')
    .attr('x', MARGIN.left)
    .attr('y', 16)
    .attr('font-weight', 'bold')
    .text(opts.title ?? 'Accuracy by stage');
  svg
    .append('g')
    .attr('transform', `translate(0,${height - MARGIN.bottom})`)
    .call(axisBottom(x).tickSizeOuter(0));
  svg
    .append('g')
    .attr('transform', `translate(${MARGIN.left},0)`)
    .call(axisLeft(y).ticks(5).tickFormat(format('.0%')));
  const left = (r: LadderRow): number => px(x(r.label) ?? 0);
  const centre = (r: LadderRow): number => px((x(r.label) ?? 0) + x.bandwidth() / 2);
  const right = (r: LadderRow): number => px((x(r.label) ?? 0) + x.bandwidth());
  const at = (v: number): number => px(y(v));
  if (opts.chance !== undefined) drawChance(svg, opts.chance, at(opts.chance), width - marginRight);
  const rungs = svg
    .append('g')
    .attr('class', 'rungs')
    .selectAll('g')
    .data(rows)
    .join('g')
    .attr('class', 'stage')
    .attr('data-stage', (r) => r.label);
  rungs
    .append('line')
    .attr('class', 'ci')
    .attr('x1', centre)
    .attr('x2', centre)
    .attr('y1', (r) => at(r.lo))
    .attr('y2', (r) => at(r.hi))
    .attr('stroke', '#888');
  rungs
    .append('line')
    .attr('class', 'rung')
    .attr('x1', left)
    .attr('x2', right)
    .attr('y1', (r) => at(r.acc))
    .attr('y2', (r) => at(r.acc))
    .attr('stroke', '#1f6feb')
    .attr('stroke-width', 3);
  rungs
    .append('text')
    .attr('x', centre)
    .attr('y', (r) => at(r.hi) - 4)
    .attr('text-anchor', 'middle')
    .text((r) => ladderFormat.pct(r.acc));
  // Two lines (the change, then its p) fit under a rung where one line would run into the next.
  const gains = rungs
    .filter((r) => r.delta !== null)
    .append('text')
    .attr('class', 'gain')
    .attr('aria-label', ladderFormat.change)
    .attr('font-size', 10)
    .attr('x', centre)
    .attr('y', (r) => Math.min(at(r.lo) + 14, height - MARGIN.bottom - 17))
    .attr('text-anchor', 'middle')
    .attr('fill', (r) => ((r.delta ?? 0) >= 0 ? '#1a7f37' : '#cf222e'))
    // A white halo keeps the label legible where a whisker, step or chance line runs under it.
    .attr('stroke', '#fff')
    .attr('stroke-width', 3)
    .attr('paint-order', 'stroke');
  gains.append('tspan').text((r) => ladderFormat.gain(r.delta ?? 0, r.deltaSd));
  gains
    .filter((r) => r.p !== null)
    .append('tspan')
    .attr('x', centre)
    .attr('dy', 12)
    .text((r) => ladderFormat.pLabel(r.p ?? 1));
  const steps = rows.slice(1).map((r, i) => {
    const prev = rows[i];
    const [x0, x1, mid] = [right(prev), left(r), px((right(prev) + left(r)) / 2)];
    return `M${x0},${at(prev.acc)}H${mid}V${at(r.acc)}H${x1}`;
  });
  svg
    .append('path')
    .attr('class', 'steps')
    .attr('d', steps.join(''))
    .attr('fill', 'none')
    .attr('stroke', '#1f6feb')
    .attr('stroke-dasharray', '3,2');
  // Spread across the rung (not stacked at its centre) so that equal values stay countable.
  const names = [...new Set(points.map((d) => d.name))];
  const offset = (d: LadderPoint): number =>
    ((names.indexOf(d.name) + 1) / (names.length + 1) - 0.5) * x.bandwidth() * 0.8;
  const stray = points.find((d) => x(d.label) === undefined);
  if (stray)
    throw new Error(`ladder point ${stray.name} is on stage ${stray.label}, which has no rung`);
  if (points.length > 0) {
    svg
      .append('g')
      .attr('class', 'points')
      .selectAll('circle')
      .data(points)
      .join('circle')
      .attr('class', 'point')
      .attr('data-stage', (d) => d.label)
      .attr('data-name', (d) => d.name)
      .attr('cx', (d) => px((x(d.label) ?? 0) + x.bandwidth() / 2 + offset(d)))
      .attr('cy', (d) => at(d.acc))
      .attr('r', 3.5)
      .attr('fill', '#fff')
      .attr('stroke', '#0b3d91')
      .append('title')
      .text((d) => `${d.name}: ${ladderFormat.pct(d.acc)}`);
  }
  return svgNode;
}

/** The line of guessing's accuracy `chance` at height `y` across the plot to `end`, labelled beyond it. */
function drawChance(
  svg: Selection<SVGSVGElement, unknown, null, undefined>,
  chance: number,
  y: number,
  end: number,
): void {
  const g = svg.append('g').attr('class', 'chance');
  g.append('line')
    .attr('x1', MARGIN.left)
    .attr('x2', end)
    .attr('y1', y)
    .attr('y2', y)
    .attr('stroke', '#999')
    .attr('stroke-dasharray', '4,3');
  g.append('text')
    .attr('x', end + 4)
    .attr('y', y + 4)
    .attr('fill', '#777')
    .text(`chance ${ladderFormat.pct(chance)}`);
}
