// The notebook's structure in Chromium, driven as a user finds controls (by role and name):
// new notebook, add/move/duplicate/delete cells, undo/redo, rename, outline, knobs that
// survive Restart and reload, Save knob values.
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, screenshot, type ServeProcess } from './testing/browser.ts';
import { consoleProblems } from './testing/console.ts';
import { cell, openNotebook } from './testing/notebook-page.ts';
import { startWorkbench, UI_FIXTURES, type TestWorkbench } from './testing/workbench.ts';

const missing = browserMissing();
const fixture = join(UI_FIXTURES, 'structure.html');
const original = readFileSync(fixture, 'utf8');
let wb: TestWorkbench;
let notebooks: string;
let serve: ServeProcess;
let browser: BrowserContext;

beforeAll(async () => {
  if (missing) return;
  wb = await startWorkbench({ name: 'ui-editor', trusted: [fixture], testJobs: true });
  ({ notebooks, serve, browser } = wb);
});

afterAll(() => wb?.stop());

/** A fresh copy of the fixture notebook, so each test starts from the same bytes. */
function copy(name: string): string {
  const path = join(notebooks, name);
  copyFileSync(fixture, path);
  return path;
}

async function open(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await openNotebook(browser, serve.url, path);
  const errors = consoleProblems(page);
  await expect.poll(() => output(page, 4)).toBe('dose: 300 mg');
  return { page, errors };
}

/** A cell's output text (a string value without the inspector's quotes). */
const output = (page: Page, id: number): Promise<string> =>
  cell(page, id)
    .locator('.cell-output')
    .textContent()
    .then((t) => (t ?? '').trim().replace(/^"(.*)"$/, '$1'));
const order = (page: Page): Promise<number[]> =>
  page.locator('section.cell').evaluateAll((cells) => cells.map((c) => Number(c.dataset.cellId)));
const tool = (page: Page, id: number, name: string): Locator =>
  cell(page, id).getByRole('button', { name, exact: true });
const button = (page: Page, name: string): Locator =>
  page.getByRole('button', { name, exact: true });
const saved = (path: string) => (): string => readFileSync(path, 'utf8');

describe.skipIf(missing)(
  `editing a notebook's structure in Chromium${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('New notebook asks for a title in the page, creates the file and opens it', async () => {
      const page = await browser.newPage();
      const errors = consoleProblems(page);
      await page.goto(serve.url);
      await button(page, 'New notebook').click();
      await page.getByRole('textbox', { name: 'New notebook title' }).fill('Ward study');
      await button(page, 'Create').click();
      const title = page.getByRole('textbox', { name: 'Notebook title', exact: true });
      await expect.poll(() => title.inputValue()).toBe('Ward study');
      // The new file is where the route says, in the notebooks folder the server chose.
      const hash = await page.evaluate(() => location.hash);
      const path = new URLSearchParams(hash.slice(1)).get('notebook') ?? hash;
      expect(path).toMatch(/ward.*\.html$/i);
      expect(readFileSync(path, 'utf8')).toContain('<title>Ward study</title>');
      const name = path.slice(path.lastIndexOf('/') + 1);
      await expect
        .poll(() => page.getByRole('navigation', { name: 'Notebooks' }).textContent())
        .toContain(name);
      expect(errors).toEqual([]);
      await page.close();
    });

    it('adds, moves, duplicates, deletes with undo and redo, renames; a reload keeps it', async () => {
      const path = copy('edit.html');
      const { page, errors } = await open(path);
      await expect.poll(() => order(page)).toEqual([1, 2, 3, 4, 5]);
      expect(await button(page, 'Undo').isDisabled()).toBe(true);

      // Delete the dose cell: its dependent says what it needs (not a red error), its old dose
      // dimmed, and Undo brings both back.
      await tool(page, 3, 'Delete cell').click();
      await expect.poll(() => order(page)).toEqual([1, 2, 4, 5]);
      const needs = cell(page, 4).getByText('needs doseMg, which no cell defines');
      await expect.poll(() => needs.isVisible()).toBe(true);
      expect(await cell(page, 4).getAttribute('class')).not.toContain('cell-error');
      expect(await cell(page, 4).locator('.cell-error').count()).toBe(0);
      expect(await output(page, 4)).toBe('dose: 300 mg');
      await expect.poll(saved(path)).not.toContain('doseMg = weightKg');
      await screenshot(page, 'ui-editor-deleted');
      expect(await page.getByRole('status').textContent()).toContain(
        'Deleted cell 3 (const doseMg = weightKg * 15;).',
      );
      await button(page, 'Undo').click();
      await expect.poll(() => order(page)).toEqual([1, 2, 3, 4, 5]);
      await expect.poll(() => output(page, 4)).toBe('dose: 300 mg');
      await expect.poll(() => cell(page, 4).getAttribute('class')).toContain('cell-done');
      expect(await needs.count()).toBe(0);
      await expect.poll(saved(path)).toBe(original);
      await button(page, 'Redo').click();
      await expect.poll(() => order(page)).toEqual([1, 2, 4, 5]);
      // Ctrl+Z outside any editor undoes too.
      await page.locator('.notebook-toolbar').click({ position: { x: 600, y: 5 } });
      await page.keyboard.press('Control+z');
      await expect.poll(() => order(page)).toEqual([1, 2, 3, 4, 5]);
      await page.keyboard.press('Control+Shift+z');
      await expect.poll(() => order(page)).toEqual([1, 2, 4, 5]);
      await page.keyboard.press('Control+z');
      await expect.poll(() => order(page)).toEqual([1, 2, 3, 4, 5]);
      await page.keyboard.press('Control+y');
      await expect.poll(() => order(page)).toEqual([1, 2, 4, 5]);
      await page.keyboard.press('Control+z');
      await expect.poll(() => order(page)).toEqual([1, 2, 3, 4, 5]);
      // The notice after a delete has its own way back.
      await tool(page, 3, 'Delete cell').click();
      await expect.poll(() => order(page)).toEqual([1, 2, 4, 5]);
      await button(page, 'Undo delete').click();
      await expect.poll(() => order(page)).toEqual([1, 2, 3, 4, 5]);
      expect(await page.getByRole('status').count()).toBe(0);
      await expect.poll(() => output(page, 4)).toBe('dose: 300 mg');

      await tool(page, 4, 'Move cell up').click();
      await expect.poll(() => order(page)).toEqual([1, 2, 4, 3, 5]);
      await tool(page, 4, 'Move cell down').click();
      await expect.poll(() => order(page)).toEqual([1, 2, 3, 4, 5]);
      await tool(page, 4, 'Duplicate cell').click();
      await expect.poll(() => order(page)).toEqual([1, 2, 3, 4, 6, 5]);
      await expect.poll(() => output(page, 6)).toBe('dose: 300 mg');

      await tool(page, 5, 'Add cell below').click();
      await expect.poll(() => order(page)).toEqual([1, 2, 3, 4, 6, 5, 7]);
      await page.keyboard.type('doseMg / 3');
      await page.keyboard.press('Shift+Enter');
      await expect.poll(() => output(page, 7)).toBe('100');
      await tool(page, 1, 'Add cell above').click();
      await expect.poll(() => order(page)).toEqual([8, 1, 2, 3, 4, 6, 5, 7]);
      await cell(page, 8).getByRole('combobox', { name: 'Cell mode' }).selectOption('md');
      await page.keyboard.type('## Preface');
      await page.keyboard.press('Shift+Enter');
      await expect
        .poll(() => cell(page, 8).locator('.cell-output h2').textContent())
        .toBe('Preface');

      // Drag the last cell by its handle onto the top half of the cell before it.
      await cell(page, 7)
        .locator('.cell-handle')
        .dragTo(cell(page, 5), { targetPosition: { x: 20, y: 2 } });
      await expect.poll(() => order(page)).toEqual([8, 1, 2, 3, 4, 6, 7, 5]);

      const title = page.getByRole('textbox', { name: 'Notebook title', exact: true });
      await title.fill('Doses, renamed');
      await title.press('Enter');
      await expect.poll(saved(path)).toContain('<title>Doses, renamed</title>');
      await expect.poll(saved(path)).toContain('doseMg / 3');
      await screenshot(page, 'ui-editor-structure');

      await page.reload();
      await expect.poll(() => order(page)).toEqual([8, 1, 2, 3, 4, 6, 7, 5]);
      await expect.poll(() => output(page, 7)).toBe('100');
      expect(
        await page.getByRole('textbox', { name: 'Notebook title', exact: true }).inputValue(),
      ).toBe('Doses, renamed');
      expect(errors).toEqual([]);
      await page.close();
    });

    it('undoing every edit writes the original bytes back', async () => {
      const path = copy('undo.html');
      const { page, errors } = await open(path);
      await tool(page, 2, 'Move cell down').click();
      await tool(page, 4, 'Duplicate cell').click();
      await tool(page, 5, 'Delete cell').click();
      const title = page.getByRole('textbox', { name: 'Notebook title', exact: true });
      await title.fill('Other');
      await title.press('Enter');
      await cell(page, 4).locator('.cm-content').click();
      await page.keyboard.press('End');
      await page.keyboard.type(' // edited');
      await page.keyboard.press('Shift+Enter');
      await expect.poll(saved(path)).toContain('// edited');
      for (let i = 0; i < 5; i++) await button(page, 'Undo').click();
      expect(await button(page, 'Undo').isDisabled()).toBe(true);
      await expect.poll(saved(path)).toBe(original);
      await expect.poll(() => page.locator('.save-status').textContent()).toBe('Saved');
      expect(errors).toEqual([]);
      await page.close();
    });

    it('knob values survive Restart and reload; Save knob values writes them as defaults', async () => {
      const path = copy('knobs.html');
      const { page, errors } = await open(path);
      const weight = cell(page, 2).getByRole('spinbutton', { name: 'Weight (kg)' });
      await weight.fill('40');
      await expect.poll(() => output(page, 4)).toBe('dose: 600 mg');
      await button(page, 'Restart').click();
      await expect.poll(() => output(page, 4)).toBe('dose: 600 mg');
      expect(await weight.inputValue()).toBe('40');
      await page.reload();
      await expect.poll(() => output(page, 4)).toBe('dose: 600 mg');
      await button(page, 'Save knob values').click();
      await expect.poll(saved(path)).toContain("{ label: 'Weight (kg)', value: 40, step: 1 }");
      // The saved default is what a fresh start shows; Undo puts the old default back.
      await button(page, 'Undo').click();
      await expect.poll(saved(path)).toBe(original);
      expect(errors).toEqual([]);
      await page.close();
    });

    it('Rename file renames it in its folder; edits keep saving to the new name', async () => {
      const path = copy('before.html');
      const { page, errors } = await open(path);
      await button(page, 'Rename file').click();
      const name = page.getByRole('textbox', { name: 'File name', exact: true });
      expect(await name.inputValue()).toBe('before.html');
      await name.fill('after');
      await button(page, 'Rename').click();
      const renamed = join(notebooks, 'after.html');
      await expect
        .poll(() => page.evaluate(() => decodeURIComponent(location.hash)))
        .toContain(renamed);
      expect(existsSync(path)).toBe(false);
      await expect
        .poll(() => page.getByRole('navigation', { name: 'Notebooks' }).textContent())
        .toContain('after.html');
      await tool(page, 4, 'Delete cell').click();
      await expect.poll(saved(renamed)).not.toContain('dose:');
      expect(existsSync(path)).toBe(false);
      expect(errors).toEqual([]);
      await page.close();
    });

    it('the outline lists the Markdown headings and scrolls to one', async () => {
      const path = copy('outline.html');
      const { page, errors } = await open(path);
      await page.setViewportSize({ width: 1400, height: 420 });
      const outline = page.getByRole('navigation', { name: 'Outline' });
      await expect
        .poll(() => outline.getByRole('button').allTextContents())
        .toEqual(['Knobs and doses', 'Settings', 'Results', 'Notes']);
      await outline.getByRole('button', { name: 'Notes' }).click();
      const top = (): Promise<number> =>
        cell(page, 5)
          .locator('h3')
          .evaluate((h3) => h3.getBoundingClientRect().top);
      await expect.poll(top).toBeLessThan(420);
      expect(await top()).toBeGreaterThanOrEqual(0);
      // A new heading shows up as soon as its cell renders.
      await tool(page, 5, 'Add cell below').click();
      await cell(page, 6).getByRole('combobox', { name: 'Cell mode' }).selectOption('md');
      await page.keyboard.type('## Appendix');
      await page.keyboard.press('Shift+Enter');
      await expect
        .poll(() => outline.getByRole('button').allTextContents())
        .toEqual(['Knobs and doses', 'Settings', 'Results', 'Notes', 'Appendix']);
      expect(errors).toEqual([]);
      await page.close();
    });
  },
);
