// Browser-safe: the names every cell can use without importing anything.
import * as Inputs from '@observablehq/inputs';
import { library } from '@observablehq/notebook-kit/runtime';
import * as Plot from '@observablehq/plot';
import * as aq from 'arquero';
import * as d3 from 'd3';
import * as htl from 'htl';
import { fileAttachments } from './file-attachment.ts';
import { DEFAULT_RUN_SEED } from './preset.ts';
import type { Workbench } from './wb.ts';

/** A runtime builtin: a definition without inputs. */
export type Builtin = () => unknown;

/**
 * The standard library: Notebook Kit's (md, Generators, Mutable, now, width...) with the
 * charting and table libraries bundled locally instead of fetched from a CDN, plus `wb` and
 * `FileAttachment` reading through the kernel, the chosen `preset` and `runSeed` (the run's seed, for notebooks that offer one as a knob).
 * `overrides` replace entries (the headless runner swaps DOM-bound ones and sets `runSeed`).
 */
export function standardLibrary(
  wb: Workbench,
  preset: string,
  overrides: Record<string, Builtin> = {},
): Record<string, Builtin> {
  return {
    ...library,
    d3: () => d3,
    Plot: () => Plot,
    aq: () => aq,
    Inputs: () => Inputs,
    htl: () => htl,
    html: () => htl.html,
    svg: () => htl.svg,
    wb: () => wb,
    // Notebook Kit's fetches from the page's origin; ours reads beside the notebook, via the kernel.
    FileAttachment: () =>
      fileAttachments({
        text: async (path) => (await wb.file(path)).text,
        bytes: (path) => wb.fileBytes(path),
      }),
    preset: () => preset,
    runSeed: () => DEFAULT_RUN_SEED,
    ...overrides,
  };
}
