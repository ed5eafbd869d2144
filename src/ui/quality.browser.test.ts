// The app shell's quality in Debian's Chromium against `finemed serve`: the built-in notebooks
// open without a console error or CSP violation, every control has an accessible name, the
// landmarks are labelled, the artifacts view keeps the preset, and a job names its origin.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing } from './testing/browser.ts';
import { consoleProblems } from './testing/console.ts';
import { cell, openNotebook } from './testing/notebook-page.ts';
import {
  PROJECT_NOTEBOOKS,
  startWorkbench,
  UI_FIXTURES,
  type TestWorkbench,
} from './testing/workbench.ts';

const missing = browserMissing();
const BUILT_IN = ['finemed-o1.html', 'dpo-by-hand.html', 'what-ttt-does.html'];
let wb: TestWorkbench;

beforeAll(async () => {
  if (missing) return;
  wb = await startWorkbench({
    name: 'ui-quality',
    trusted: [
      ...BUILT_IN.map((name) => join(PROJECT_NOTEBOOKS, name)),
      join(UI_FIXTURES, 'training.html'),
    ],
    testJobs: true,
  });
});

afterAll(() => wb?.stop());

/** Opens a notebook of the notebooks folder by name. */
const open = (name: string, hash = ''): Promise<Page> =>
  openNotebook(wb.browser, wb.serve.url, join(wb.notebooks, name), hash);

/** Waits until no cell is running, so everything a notebook does on open has happened. */
async function settled(page: Page): Promise<void> {
  await expect
    .poll(() => page.locator('section.cell.cell-running').count(), { timeout: 180_000 })
    .toBe(0);
}

/** Interactive elements of Chromium's accessibility tree without a name, as "role: html". */
async function unnamedControls(page: Page): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
    nodes: {
      ignored: boolean;
      role?: { value: string };
      name?: { value: string };
      backendDOMNodeId?: number;
    }[];
  };
  const controls = new Set([
    'button',
    'link',
    'textbox',
    'searchbox',
    'combobox',
    'listbox',
    'checkbox',
    'radio',
    'slider',
    'spinbutton',
    'switch',
    'menuitem',
    'tab',
  ]);
  const unnamed: string[] = [];
  for (const node of nodes) {
    const role = node.role?.value ?? '';
    if (node.ignored || !controls.has(role) || node.name?.value.trim()) continue;
    const { object } = (await cdp.send('DOM.resolveNode', {
      backendNodeId: node.backendDOMNodeId,
    })) as { object: { objectId: string } };
    const html = (await cdp.send('Runtime.callFunctionOn', {
      objectId: object.objectId,
      functionDeclaration: 'function () { return this.outerHTML.slice(0, 160); }',
      returnByValue: true,
    })) as { result: { value: string } };
    unnamed.push(`${role}: ${html.result.value}`);
  }
  await cdp.detach();
  return unnamed;
}

describe.skipIf(missing)(
  `the app shell's quality in Chromium${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it.each(BUILT_IN)(
      'opens %s (preset tiny) without a console error, page error or CSP violation',
      async (name) => {
        const page = await wb.browser.newPage();
        const problems = consoleProblems(page);
        await page.goto(
          `${wb.serve.url}#notebook=${encodeURIComponent(join(wb.notebooks, name))}&preset=tiny`,
        );
        await page.locator('section.cell').first().waitFor();
        await settled(page);
        expect(await page.locator('section.cell').count()).toBeGreaterThan(3);
        expect(problems).toEqual([]);
        await page.close();
      },
      240_000,
    );

    it("a knob made with Observable Inputs still works (htl's listeners, patched in the bundle)", async () => {
      const page = await open('what-ttt-does.html', '&preset=tiny');
      const problems = consoleProblems(page);
      const range = page.locator('form input[type=range]').first();
      await range.waitFor();
      const number = range.locator('xpath=..').locator('input[type=number]');
      const max = Number(await range.getAttribute('max'));
      // Typing in the number field fires its oninput listener, which moves the slider.
      await number.fill(String(max));
      await number.dispatchEvent('input');
      await expect.poll(() => range.inputValue()).toBe(String(max));
      expect(problems).toEqual([]);
      await page.close();
    });

    it('every control has an accessible name and the landmarks are labelled', async () => {
      const page = await open('finemed-o1.html', '&preset=tiny');
      // The knobs (Observable Inputs) are the notebook's own controls: wait until they are drawn.
      await expect.poll(() => page.locator('.cell-output form input').count()).toBeGreaterThan(0);
      expect(await page.getByRole('banner').count()).toBe(1);
      expect(await page.getByRole('main', { name: 'Notebook' }).count()).toBe(1);
      expect(await page.getByRole('complementary', { name: 'Jobs' }).count()).toBe(1);
      expect(await page.getByRole('navigation', { name: 'Notebooks' }).count()).toBe(1);
      const banner = page.getByRole('banner');
      for (const name of ['Present', 'Run all', 'Interrupt', 'Restart', 'Save', 'Save as…'])
        expect(await banner.getByRole('button', { name, exact: true }).count()).toBe(1);
      expect(await banner.getByRole('combobox', { name: 'Preset' }).inputValue()).toBe('tiny');
      expect(await unnamedControls(page)).toEqual([]);
      await page.goto(`${wb.serve.url}#artifacts`);
      await page.getByRole('heading', { name: 'Artifacts' }).waitFor();
      expect(await page.getByRole('button', { name: 'Refresh' }).count()).toBe(1);
      expect(await unnamedControls(page)).toEqual([]);
      await page.close();
    }, 240_000);

    it('opening Artifacts keeps the preset, and so does going back to a notebook', async () => {
      const page = await open('dpo-by-hand.html', '&preset=tiny');
      const preset = page.getByRole('combobox', { name: 'Preset' });
      await page.getByRole('link', { name: 'Artifacts' }).click();
      await page.getByRole('heading', { name: 'Artifacts' }).waitFor();
      expect(new URLSearchParams(new URL(page.url()).hash.slice(1)).get('preset')).toBe('tiny');
      expect(await preset.inputValue()).toBe('tiny');
      await page.getByRole('button', { name: 'what-ttt-does.html' }).click();
      await page.locator('section.cell').first().waitFor();
      const hash = new URLSearchParams(new URL(page.url()).hash.slice(1));
      expect(hash.get('notebook')).toBe(join(wb.notebooks, 'what-ttt-does.html'));
      expect(hash.get('preset')).toBe('tiny');
      await page.close();
    });

    it('a job in the jobs panel names its notebook and cell; the cell link scrolls to it', async () => {
      const page = await open('training.html');
      await expect.poll(() => cell(page, 3).getAttribute('class')).toContain('cell-stale');
      await cell(page, 3).getByRole('button', { name: 'Run', exact: true }).click();
      const jobs = page.getByRole('complementary', { name: 'Jobs' });
      const row = jobs.locator('.job[data-job="test.steps"]');
      await expect
        .poll(() => row.locator('.job-origin').textContent())
        .toBe('training.html, cell 3');
      await page.locator('main').evaluate((main) => main.scrollTo(0, main.scrollHeight));
      await row.getByRole('button', { name: 'cell 3' }).click();
      expect(await cell(page, 3).getAttribute('class')).toContain('cell-pointed');
      const box = await cell(page, 3).boundingBox();
      expect(box?.y).toBeLessThan(900);
      expect(box?.y).toBeGreaterThanOrEqual(0);
      await jobs.getByRole('button', { name: 'Cancel test.steps' }).click();
      await expect.poll(() => row.count()).toBe(0);
      await page.close();
    });
  },
);
