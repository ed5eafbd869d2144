// Cell states in Chromium against `finemed serve`: a pending cell keeps its output, an error is
// said once at its origin (located in the editor), Interrupt and Resume, Run all's cost, and
// FileAttachment of a CSV beside the notebook.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, screenshot } from './testing/browser.ts';
import { consoleProblems } from './testing/console.ts';
import { cell, typeAndRun } from './testing/notebook-page.ts';
import { startWorkbench, UI_FIXTURES, type TestWorkbench } from './testing/workbench.ts';

const missing = browserMissing();
let wb: TestWorkbench;

beforeAll(async () => {
  if (missing) return;
  wb = await startWorkbench({
    name: 'cell-states',
    trusted: ['states.html', 'resume.html', 'costly.html'].map((name) => join(UI_FIXTURES, name)),
    files: ['doses.csv', 'dot.png'].map((name) => join(UI_FIXTURES, name)),
    testJobs: true,
  });
});

afterAll(() => wb?.stop());

/** Opens a notebook and collects console errors, page errors and CSP violations from its start. */
async function open(name: string): Promise<{ page: Page; problems: string[] }> {
  const page = await wb.browser.newPage();
  const problems = consoleProblems(page);
  await page.goto(`${wb.serve.url}#notebook=${encodeURIComponent(join(wb.notebooks, name))}`);
  await page.locator('section.cell').first().waitFor();
  return { page, problems };
}

const classOf = (page: Page, id: number) => (): Promise<string | null> =>
  cell(page, id).getAttribute('class');

describe.skipIf(missing)(
  `cell states in Chromium${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('a pending cell keeps its output, dimmed, and says what it waits on; no red error', async () => {
      const { page, problems } = await open('states.html');
      await expect
        .poll(() => cell(page, 4).locator('.cell-output').textContent(), { timeout: 20_000 })
        .toBe('"3 steps done"');
      await typeAndRun(page, 1, 'const steps = 6;');
      await expect.poll(classOf(page, 4)).toContain('cell-waiting');
      await expect
        .poll(() => cell(page, 4).locator('.cell-status').textContent())
        .toBe('waiting on cell 2 (test.steps, running)');
      expect(await cell(page, 4).locator('.cell-output').textContent()).toBe('"3 steps done"');
      const opacity = await cell(page, 4)
        .locator('.cell-output')
        .evaluate((e) => getComputedStyle(e).opacity);
      expect(Number(opacity)).toBeLessThan(1);
      expect(await page.locator('.observablehq--error', { hasText: 'waiting' }).count()).toBe(0);
      expect(await cell(page, 3).locator('.observablehq--error').count()).toBe(0);
      await screenshot(page, 'cell-states-pending');
      await expect
        .poll(() => cell(page, 4).locator('.cell-output').textContent(), { timeout: 20_000 })
        .toBe('"6 steps done"');
      expect(await cell(page, 4).getAttribute('class')).toContain('cell-done');
      expect(problems).toEqual([]);
      await page.close();
    });

    it('an error is shown at its origin with line, column and an editor marker; dependents wait on it', async () => {
      const { page, problems } = await open('states.html');
      await expect.poll(classOf(page, 5)).toContain('cell-error');
      const origin = cell(page, 5);
      await expect
        .poll(() => origin.locator('.cell-output').textContent())
        .toContain("Cannot read properties of undefined (reading 'deeper')");
      // The editor marks line 2 at the column where the error happened.
      await expect.poll(() => origin.locator('.cm-lintRange-error').count()).toBe(1);
      expect(await origin.locator('.cm-lintRange-error').textContent()).toBe('deeper');
      expect(await origin.locator('.cm-lint-marker-error').count()).toBe(1);
      for (const id of [6, 7]) {
        expect(await cell(page, id).getAttribute('class')).toContain('cell-blocked');
        expect(await cell(page, id).locator('.cell-status').textContent()).toBe(
          'waits on cell 5, which failed',
        );
        expect(await cell(page, id).locator('.observablehq--error').count()).toBe(0);
      }
      await screenshot(page, 'cell-states-error-origin');
      // The link in a dependent's status scrolls to the failing cell.
      await page.evaluate(() => window.scrollTo(0, 0));
      await cell(page, 7).getByRole('button', { name: 'cell 5' }).click();
      await expect
        .poll(() => origin.evaluate((e) => e.getBoundingClientRect().top))
        .toBeLessThan(900);
      // A syntax error is located too, with the column counted from 1.
      await typeAndRun(page, 5, 'const bad = (1 +;');
      await expect
        .poll(() => origin.locator('.cell-output').textContent())
        .toContain('SyntaxError: Unexpected token (1:17)');
      await expect.poll(() => origin.locator('.cm-lintRange-error').count()).toBe(1);
      await typeAndRun(page, 5, 'const bad = 20;');
      await expect.poll(() => cell(page, 6).locator('.cell-output').textContent()).toBe('21');
      expect(await origin.locator('.cm-lintRange-error').count()).toBe(0);
      expect(problems).toEqual([]);
      await page.close();
    });

    it('FileAttachment reads a CSV beside the notebook, shown as a table, and an image', async () => {
      const { page, problems } = await open('states.html');
      const table = cell(page, 9).locator('.cell-output table');
      await expect.poll(() => table.locator('tbody tr').count()).toBe(3);
      expect(await table.textContent()).toContain('paracetamol');
      expect(await table.textContent()).toContain('1,000');
      // Binary files too: an image through a blob: URL, which the page's policy allows.
      const image = cell(page, 10).getByRole('img', { name: 'a dot' });
      await expect.poll(() => image.evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBe(1);
      expect(await image.getAttribute('src')).toMatch(/^blob:/);
      expect(problems).toEqual([]);
      await page.close();
    });

    it('Interrupt says the step once, with Resume; Resume continues from the checkpoint', async () => {
      const { page, problems } = await open('resume.html');
      const job = page.locator('.jobs .job[data-job="test.resume"] progress');
      await expect
        .poll(() => job.evaluate((p) => (p as HTMLProgressElement).value), { timeout: 20_000 })
        .toBeGreaterThan(5);
      await page.locator('button.cmd-interrupt').click();
      await expect.poll(classOf(page, 1)).toContain('cell-cancelled');
      const status = await cell(page, 1).locator('.cell-status span').textContent();
      const step = Number(/cancelled at step (\d+), checkpoint saved/.exec(status ?? '')?.[1]);
      expect(step).toBeGreaterThan(5);
      // Said once: dependents wait, with no error of their own.
      for (const id of [2, 3]) {
        expect(await cell(page, id).getAttribute('class')).toContain('cell-waiting');
        expect(await cell(page, id).locator('.observablehq--error').count()).toBe(0);
      }
      expect(await cell(page, 2).locator('.cell-status').textContent()).toBe(
        'waiting on cell 1 (test.resume, cancelled)',
      );
      expect(await page.locator('.observablehq--error').count()).toBe(0);
      await screenshot(page, 'cell-states-cancelled');
      await cell(page, 1).getByRole('button', { name: 'Resume' }).click();
      await expect
        .poll(() => cell(page, 3).locator('.cell-output').textContent(), { timeout: 30_000 })
        .toBe(`"resumed at step ${step}"`);
      expect(problems).toEqual([]);
      await page.close();
    });

    it('Run all states its cost first; Cancel starts nothing, Run all starts the jobs', async () => {
      const { page, problems } = await open('costly.html');
      await expect.poll(classOf(page, 1)).toContain('cell-stale');
      await expect.poll(classOf(page, 2)).toContain('cell-stale');
      await page.locator('button.cmd-run-all').click();
      const bar = page.locator('.run-all-bar');
      await expect
        .poll(() => bar.locator('span').textContent())
        .toBe(
          'Run all will start 2 jobs, about 12m00s: test.steps, test.steps, then 1 waiting on them (test.steps).',
        );
      await screenshot(page, 'cell-states-run-all-cost');
      await bar.getByRole('button', { name: 'Cancel' }).click();
      expect(await bar.count()).toBe(0);
      expect(await page.locator('.jobs .job').count()).toBe(0);
      expect(await cell(page, 1).getAttribute('class')).toContain('cell-stale');
      await page.locator('button.cmd-run-all').click();
      await bar.getByRole('button', { name: 'Run all' }).click();
      for (const id of [1, 2, 3]) {
        await expect.poll(classOf(page, id), { timeout: 30_000 }).toContain('cell-done');
      }
      expect(problems).toEqual([]);
      await page.close();
    });
  },
);
