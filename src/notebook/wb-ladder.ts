// Browser-safe: `wb.ladder`, the gain ladder as notebook cells draw and write it.
import { ladderSvg, type LadderOptions } from '../eval/ladder.ts';
import { ladderCells, ladderFormat, type LadderRow } from '../eval/ladder-row.ts';
import { pooledRows, seedPoints } from '../eval/seeds.ts';

/**
 * The gain ladder as cells draw and write it (`wb.ladder.chart(rows, { chance })`): the chart,
 * table and number formats of `finemed compare`, `finemed demo` and the reports, so the chart a
 * notebook shows is the one the tests snapshot.
 */
export const WORKBENCH_LADDER = {
  /** The chart, in the page's document (or jsdom's, headless) unless given another. */
  chart: (
    rows: readonly LadderRow[],
    opts: Omit<LadderOptions, 'document'> & { document?: Document } = {},
  ): SVGSVGElement => ladderSvg(rows, { ...opts, document: opts.document ?? document }),
  cells: ladderCells,
  format: ladderFormat,
  pooledRows,
  seedPoints,
} as const;
