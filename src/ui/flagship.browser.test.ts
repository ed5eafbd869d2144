// The flagship notebook in the workbench, tiny preset, in Debian's Chromium against
// `finemed serve`: run all, watch a training job move and cancel it, run all again to the gain
// ladder, edit a cell and see only its dependents update, reload and find the edit saved.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSDOM } from 'jsdom';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNotebook } from '../notebook/notebook-file.ts';
import { browserMissing, screenshot } from './testing/browser.ts';
import { consoleProblems } from './testing/console.ts';
import { cell, openNotebook, runAll } from './testing/notebook-page.ts';
import { PROJECT_NOTEBOOKS, startWorkbench, type TestWorkbench } from './testing/workbench.ts';

const missing = browserMissing();
const STAGES = ['Base', 'SFT common', 'SFT department', 'Long-reasoning SFT', 'DPO', 'DPO+TTT'];
/** Cells of the flagship: pretraining, the first SFT stage, the ladder. */
const PRETRAINING = 25;
const SFT_COMMON = 28;
const LADDER = 46;
let wb: TestWorkbench;
// A copy, so autosave never touches the project's notebook; trusted as a project one would be.
let path: string;
let page: Page;

beforeAll(async () => {
  if (missing) return;
  wb = await startWorkbench({
    name: 'ui-flagship',
    trusted: [join(PROJECT_NOTEBOOKS, 'finemed-o1.html')],
  });
  path = join(wb.notebooks, 'finemed-o1.html');
});

afterAll(() => wb?.stop());

/** The accuracy labels above the ladder's bars, by stage. */
function ladderLabels(p: Page): Promise<string[]> {
  return p
    .locator(`${cellSelector(LADDER)} svg.gain-ladder g.stage > text:not(.gain)`)
    .evaluateAll((labels) => labels.map((l) => l.textContent ?? ''));
}

/** The ladder chart's title. */
function ladderTitle(p: Page): Promise<string> {
  return p
    .locator(`${cellSelector(LADDER)} svg.gain-ladder > text`)
    .first()
    .textContent()
    .then((t) => t ?? '');
}

const cellSelector = (id: number): string => `section.cell[data-cell-id="${id}"]`;

describe.skipIf(missing)(
  `the flagship notebook in the workbench${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('run all shows a training job moving in the jobs panel, with throughput and ETA, and Cancel stops it', async () => {
      page = await openNotebook(wb.browser, wb.serve.url, path, '&preset=tiny');
      await runAll(page);
      const row = page.locator('.jobs .job[data-job="train.sft"]').first();
      const step = (): Promise<number> =>
        row.locator('progress').evaluate((p) => (p as HTMLProgressElement).value);
      // Short poll intervals: the tiny pretraining job has few steps, and Cancel must land
      // before its last one.
      await expect.poll(step, { timeout: 120_000, interval: 100 }).toBeGreaterThan(0);
      const first = await step();
      await expect.poll(step, { timeout: 60_000, interval: 100 }).toBeGreaterThan(first);
      await expect
        .poll(() => row.locator('.job-figures').textContent())
        .toMatch(/^step \d+\/\d+ · loss \d+\.\d{4} · [\d,]+ tok\/s · ETA \S+$/);
      expect(await cell(page, PRETRAINING).getAttribute('class')).toContain('cell-running');
      // The next stage waits for it, and says so once (in its output, not again in its status).
      const next = cell(page, SFT_COMMON);
      expect(await next.getAttribute('class')).toContain('cell-waiting');
      expect(await next.locator('.cell-output .finemed-job-waiting').textContent()).toBe(
        `train.sft: waiting for train.sft in cell ${PRETRAINING} (running)`,
      );
      expect(await next.locator('.cell-status').isVisible()).toBe(false);
      await screenshot(page, 'ui-flagship-training');
      await row.locator('.job-cancel').click();
      await expect
        .poll(() => page.locator('.jobs .job[data-job="train.sft"]').count(), { timeout: 30_000 })
        .toBe(0);
      await expect
        .poll(() => cell(page, PRETRAINING).getAttribute('class'))
        .not.toContain('cell-running');
      expect(await cell(page, PRETRAINING).locator('.cell-status').textContent()).toMatch(
        /cancel/i,
      );
    });

    it('run all again finishes the tiny run and draws the gain ladder of every stage', async () => {
      const problems = consoleProblems(page);
      await runAll(page);
      const ladder = page.locator(`${cellSelector(LADDER)} svg.gain-ladder`);
      await ladder.waitFor({ timeout: 600_000 });
      expect(
        await ladder
          .locator('g.stage')
          .evaluateAll((g) => g.map((s) => s.getAttribute('data-stage'))),
      ).toEqual(STAGES);
      expect(await ladderLabels(page)).toEqual(
        STAGES.map(() => expect.stringMatching(/^\d+\.\d%$/)),
      );
      // The sections after the ladder (paraphrased questions, reasoning answers) run on. Settled
      // means no job and no cell at work at once: a cell that reads finished jobs' files before
      // asking for a comparison has no job in between.
      const busy = (): Promise<number> =>
        page.locator('.jobs .job, section.cell.cell-running').count();
      await expect.poll(busy, { timeout: 600_000 }).toBe(0);
      await ladder.scrollIntoViewIfNeeded();
      await screenshot(page, 'ui-flagship-ladder');
      expect(problems).toEqual([]);
    }, 1_200_000);

    it('editing the ladder cell re-draws the chart from the finished jobs, and the edit is saved', async () => {
      const source = parseNotebook(readFileSync(path, 'utf8'), {
        parser: new new JSDOM('').window.DOMParser(),
      }).cells.find((c) => c.id === LADDER)!.value;
      const edited = source.replace(
        "title: 'Held-out accuracy",
        "title: 'Edited: held-out accuracy",
      );
      expect(edited).not.toBe(source);
      const editor = cell(page, LADDER).locator('.cm-content');
      await editor.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.insertText(edited);
      await page.keyboard.press('Shift+Enter');
      await expect.poll(() => ladderTitle(page)).toMatch(/^Edited: held-out accuracy/);
      expect(await ladderLabels(page)).toEqual(
        STAGES.map(() => expect.stringMatching(/^\d+\.\d%$/)),
      );
      // Only the dependents re-ran: no training or evaluation job started again.
      expect(await page.locator('.jobs .job').count()).toBe(0);
      await expect.poll(() => page.locator('.save-status').textContent()).toBe('Saved');
      expect(readFileSync(path, 'utf8')).toContain("title: 'Edited: held-out accuracy");
    });

    it('after a reload the notebook opens with the edit and reuses every artifact', async () => {
      await page.reload();
      await expect
        .poll(() => ladderTitle(page), { timeout: 120_000 })
        .toMatch(/^Edited: held-out accuracy/);
      expect(await page.locator(`${cellSelector(PRETRAINING)}.cell-done`).count()).toBe(1);
      await page.close();
    }, 300_000);

    it("the artifacts view shows an evaluation's accuracy and its scored questions as a table", async () => {
      const view = await wb.browser.newPage();
      await view.goto(`${wb.serve.url}#artifacts`);
      const evals = view.locator('.artifact-kind', {
        has: view.locator('h2', { hasText: /^eval$/ }),
      });
      await evals.locator('.artifact-entry').first().click();
      const detail = view.locator('.artifact-detail');
      await expect.poll(() => detail.locator('h2').textContent()).toMatch(/^eval [0-9a-f]{32}$/);
      // The newest evaluation may be a tiny model's reasoning answers, all invalid: accuracy 0.
      expect(await detail.textContent()).toMatch(/accuracy: (0|1|0\.\d+)\b/);
      const items = detail.locator('.artifact-file', { hasText: 'items.jsonl' }).locator('table');
      expect(await items.locator('th').allTextContents()).toContain('correct');
      expect(await items.locator('tbody tr').count()).toBeGreaterThan(0);
      await screenshot(view, 'ui-flagship-eval-artifact');
      await view.close();
    });
  },
);
