// The workbench UI in Debian's Chromium against `finemed serve` (started here on a random
// port), driven like a user: open, run, edit, approve a costly job, cancel it, reload, trust.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../core/artifacts.ts';
import { browserMissing, screenshot } from './testing/browser.ts';
import { consoleProblems } from './testing/console.ts';
import { cell, cellStates, openNotebook, runAll, typeAndRun } from './testing/notebook-page.ts';
import { startWorkbench, UI_FIXTURES, type TestWorkbench } from './testing/workbench.ts';

const missing = browserMissing();
let wb: TestWorkbench;

beforeAll(async () => {
  if (missing) return;
  wb = await startWorkbench({
    name: 'ui-browser',
    trusted: ['reactive.html', 'training.html'].map((name) => join(UI_FIXTURES, name)),
    testJobs: true,
  });
  // A copy from elsewhere, changed: trust follows the exact text, so this one is untrusted.
  const downloads = join(wb.root, 'downloads');
  mkdirSync(downloads);
  const shared = readFileSync(join(UI_FIXTURES, 'reactive.html'), 'utf8');
  writeFileSync(join(downloads, 'shared.html'), shared.replace('weightKg = 20', 'weightKg = 25'));
});

afterAll(() => wb?.stop());

const open = (path: string, hash = ''): Promise<Page> =>
  openNotebook(wb.browser, wb.serve.url, path, hash);

describe.skipIf(missing)(
  `the workbench in Chromium${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('opens a notebook from the list and shows its outputs, text and chart', async () => {
      const page = await wb.browser.newPage();
      const problems = consoleProblems(page);
      await page.goto(wb.serve.url);
      // The token moves to a cookie: the address bar no longer shows it.
      expect(page.url()).not.toContain('token=');
      await expect
        .poll(() => page.locator('.notice').textContent())
        .toContain('Not for clinical use');
      await page.locator('button.notebook-link', { hasText: 'reactive.html' }).click();
      await expect
        .poll(() => cell(page, 4).locator('.cell-output').textContent())
        .toContain('paracetamol: 300 mg every 6 hours');
      await expect.poll(() => cell(page, 5).locator('.cell-output svg').count()).toBe(1);
      await expect
        .poll(() => cell(page, 1).locator('.cell-output h1').textContent())
        .toBe('Dose arithmetic');
      expect(await cell(page, 3).getAttribute('class')).toContain('cell-done');
      await screenshot(page, 'ui-reactive-notebook');
      // A Markdown heading's own link reads as a heading and scrolls; it does not close the notebook.
      const heading = cell(page, 1).locator('.cell-output h2');
      const colors = await heading.evaluate((h2) => [
        getComputedStyle(h2).color,
        getComputedStyle(h2.querySelector('a')!).color,
      ]);
      expect(colors[1]).toBe(colors[0]);
      const before = page.url();
      await heading.locator('a').click();
      expect(page.url()).toBe(before);
      expect(await cell(page, 4).locator('.cell-output').textContent()).toContain('300 mg');
      expect(problems).toEqual([]);
      await page.close();
    });

    it('Shift+Enter re-runs the edited cell and exactly its dependents, autosaves, and survives a reload', async () => {
      const path = join(wb.notebooks, 'reactive.html');
      const page = await open(path);
      await expect
        .poll(() => cell(page, 4).locator('.cell-output').textContent())
        .toContain('300 mg');
      const chart = await cell(page, 5).locator('.cell-output svg').elementHandle();
      await typeAndRun(page, 2, 'const weightKg = 30;');
      await expect
        .poll(() => cell(page, 4).locator('.cell-output').textContent())
        .toContain('450 mg');
      // The chart does not depend on the weight: its output was not redrawn.
      expect(await chart?.evaluate((svg) => svg.isConnected)).toBe(true);
      await expect.poll(() => page.locator('.save-status').textContent()).toBe('Saved');
      expect(readFileSync(path, 'utf8')).toContain('const weightKg = 30;');
      await screenshot(page, 'ui-edited-cell');
      await page.reload();
      await expect
        .poll(() => cell(page, 4).locator('.cell-output').textContent())
        .toContain('450 mg');
      await page.close();
    });

    it('a costly job cell shows stale with its cost and a Run button, then runs when asked', async () => {
      const page = await open(join(wb.notebooks, 'training.html'), '&preset=tiny');
      await expect.poll(() => cell(page, 3).getAttribute('class')).toContain('cell-stale');
      expect(await cell(page, 3).locator('.cell-status').textContent()).toContain(
        'test.steps would take about 10m00s',
      );
      // Said once: the job's own "not run" line in the output is hidden behind the status.
      expect(await cell(page, 3).locator('.cell-output .finemed-job-stale').isVisible()).toBe(
        false,
      );
      await screenshot(page, 'ui-stale-job');
      await cell(page, 3).locator('.cell-run-stale').click();
      await expect
        .poll(() => cell(page, 3).getAttribute('class'), { timeout: 30_000 })
        .toContain('cell-done');
      await expect
        .poll(() => cell(page, 4).locator('.cell-output svg path').count())
        .toBeGreaterThan(0);
      await page.close();
    });

    it('shows a failing cell’s error on the cell, and its dependents waiting on it', async () => {
      const page = await open(join(wb.notebooks, 'reactive.html'));
      await expect.poll(() => cell(page, 4).locator('.cell-output').textContent()).toContain('mg');
      // A name no cell defines is not this (it is a `missing` state): the cell's code throws.
      await typeAndRun(page, 3, 'const doseMg = weightKg * Number.missingFactor();');
      await expect.poll(() => cell(page, 3).getAttribute('class')).toContain('cell-error');
      expect(await cell(page, 3).locator('.cell-output').textContent()).toContain(
        'Number.missingFactor is not a function',
      );
      await expect.poll(() => cell(page, 4).getAttribute('class')).toContain('cell-blocked');
      await screenshot(page, 'ui-cell-error');
      await typeAndRun(page, 3, 'const doseMg = weightKg * 15;');
      await expect.poll(() => cell(page, 4).getAttribute('class')).toContain('cell-done');
      await page.close();
    });

    it('the artifacts view shows a dataset as a table and a model with its config', async () => {
      // Artifacts as the pipeline jobs write them, put straight into the server's store.
      const store = new ArtifactStore(wb.home);
      const recipe = { inputs: {}, config: { preset: 'tiny' }, seed: 3 };
      const dataset = await store.getOrCreate({ ...recipe, kind: 'dataset' }, async (dir) => {
        const rows = [
          { question: 'Fever and neck stiffness?', answer: 'B' },
          { question: 'Wheeze at night?', answer: 'D' },
        ];
        writeFileSync(join(dir, 'sft.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
        return { rows: rows.length };
      });
      const model = await store.getOrCreate({ ...recipe, kind: 'checkpoint' }, async (dir) => {
        writeFileSync(
          join(dir, 'config.json'),
          JSON.stringify({ hidden_size: 96, num_hidden_layers: 2 }),
        );
        writeFileSync(join(dir, 'model.safetensors'), Buffer.alloc(64));
        return { params: 1234 };
      });
      const page = await wb.browser.newPage();
      await page.goto(`${wb.serve.url}#artifacts`);
      const detail = page.locator('.artifact-detail');
      await page.locator(`.artifact-entry[data-key="${dataset.meta.key}"]`).click();
      await expect
        .poll(() => detail.locator('h2').textContent())
        .toBe(`dataset ${dataset.meta.key}`);
      const table = detail.locator('.artifact-file', { hasText: 'sft.jsonl' }).locator('table');
      expect(await table.locator('th').allTextContents()).toEqual(['question', 'answer']);
      expect(await table.locator('tbody tr').first().textContent()).toBe(
        'Fever and neck stiffness?B',
      );
      await page.locator(`.artifact-entry[data-key="${model.meta.key}"]`).click();
      await expect
        .poll(() => detail.locator('h2').textContent())
        .toBe(`checkpoint ${model.meta.key}`);
      const config = detail.locator('.artifact-file', { hasText: 'config.json' });
      expect(await config.textContent()).toContain('hidden_size: 96');
      expect(
        await detail.locator('.artifact-file', { hasText: 'model.safetensors' }).textContent(),
      ).toContain('64 bytes');
      await screenshot(page, 'ui-artifacts');
      await page.close();
    });

    it('a running job shows progress in the jobs panel and Cancel stops it', async () => {
      const page = await open(join(wb.notebooks, 'training.html'));
      await runAll(page);
      const row = page.locator('.jobs .job[data-job="test.steps"]');
      await row.waitFor();
      await expect
        .poll(() => row.locator('progress').evaluate((p) => (p as HTMLProgressElement).value))
        .toBeGreaterThan(2);
      expect(await row.locator('.job-figures').textContent()).toMatch(
        /step \d+\/80 · loss \d\.\d{4}/,
      );
      await expect.poll(() => cell(page, 3).getAttribute('class')).toContain('cell-running');
      await screenshot(page, 'ui-job-running');
      await row.locator('.job-cancel').click();
      await expect.poll(() => row.count()).toBe(0);
      await expect.poll(() => cell(page, 3).getAttribute('class')).not.toContain('cell-running');
      expect(await cell(page, 3).locator('.cell-status').textContent()).toMatch(/cancel/i);
      await page.close();
    });

    it('Interrupt stops the notebook’s jobs and Restart starts a fresh session', async () => {
      const page = await open(join(wb.notebooks, 'training.html'));
      await expect.poll(() => cell(page, 3).getAttribute('class')).toContain('cell-stale');
      await runAll(page);
      await expect.poll(() => cell(page, 3).getAttribute('class')).toContain('cell-running');
      await page.locator('button.cmd-interrupt').click();
      await expect.poll(() => cell(page, 3).getAttribute('class')).not.toContain('cell-running');
      await expect.poll(() => page.locator('.jobs .job').count()).toBe(0);
      await page.locator('button.cmd-restart-kernel').click();
      // A fresh session: the cancelled job left no artifact, so the costly cell is stale again.
      await expect.poll(() => cellStates(page)).toEqual({ done: 3, stale: 1 });
      await page.close();
    });

    it('a notebook from elsewhere shows its code and runs nothing until trusted', async () => {
      const page = await wb.browser.newPage();
      await page.goto(wb.serve.url);
      await page.locator('input.open-path').fill(join(wb.root, 'downloads', 'shared.html'));
      await page.locator('form.open-form button').click();
      await page.locator('.trust-bar').waitFor();
      await expect
        .poll(() => cell(page, 2).locator('.cm-content').textContent())
        .toBe('const weightKg = 25;');
      // Give a wrongly started runtime time to show something before checking it did not.
      await page.waitForTimeout(500);
      expect(
        await page
          .locator('.cell-output')
          .evaluateAll((outputs) => outputs.map((o) => o.textContent)),
      ).toEqual(['', '', '', '', '']);
      expect(await cell(page, 4).getAttribute('class')).toContain('cell-idle');
      await screenshot(page, 'ui-untrusted');
      await page.locator('button.trust-run').click();
      await expect
        .poll(() => cell(page, 4).locator('.cell-output').textContent())
        .toContain('375 mg');
      await page.close();
    });

    it('unsaved typing is kept in a recovery file and offered back after a reload', async () => {
      const path = join(wb.notebooks, 'reactive.html');
      const page = await open(path);
      await cell(page, 3).locator('.cm-content').click();
      await page.keyboard.press('End');
      await page.keyboard.type(' // checked twice');
      await expect
        .poll(() => page.locator('.save-status').textContent())
        .toBe('Unsaved (recovery kept)');
      expect(readFileSync(path, 'utf8')).not.toContain('checked twice');
      await page.reload();
      await page.locator('.recovery-bar').waitFor();
      await page.locator('button.recovery-restore').click();
      await expect
        .poll(() => cell(page, 3).locator('.cm-content').textContent())
        .toContain('checked twice');
      await page.locator('button.cmd-save').click();
      await expect.poll(() => readFileSync(path, 'utf8')).toContain('checked twice');
      await page.close();
    });
  },
);
