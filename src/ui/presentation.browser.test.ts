// Presentation mode and the dark theme in Debian's Chromium against `finemed serve`: present a
// notebook, move between sections with keys and buttons while a live output keeps updating,
// leave; outputs stay readable in the dark theme. FINEMED_SCREENSHOTS=docs also runs the
// flagship notebook at preset tiny and saves the README's docs/presentation.png.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { browserMissing, screenshot } from './testing/browser.ts';
import { consoleProblems } from './testing/console.ts';
import { cell, openNotebook } from './testing/notebook-page.ts';
import {
  PROJECT_NOTEBOOKS,
  startWorkbench,
  UI_FIXTURES,
  type TestWorkbench,
} from './testing/workbench.ts';

const missing = browserMissing();
const screenshotsDir = process.env.FINEMED_SCREENSHOTS;
let wb: TestWorkbench;
const lesson = (): string => join(wb.notebooks, 'presentation.html');
const flagship = (): string => join(wb.notebooks, 'finemed-o1.html');

beforeAll(async () => {
  if (missing) return;
  wb = await startWorkbench({
    name: 'ui-present',
    trusted: [join(UI_FIXTURES, 'presentation.html'), join(PROJECT_NOTEBOOKS, 'finemed-o1.html')],
  });
});

afterAll(() => wb?.stop());

const position = (page: Page): Locator =>
  page.getByRole('toolbar', { name: 'Presentation' }).locator('.presentation-position');

/** The tick the live counter cell shows. */
async function tick(page: Page): Promise<number> {
  return Number((await cell(page, 8).locator('.ticks').textContent())?.replace('tick ', ''));
}

/** WCAG contrast ratio of an element's text color against the first opaque background behind it. */
function contrast(element: Locator, color: 'color' | 'fill' = 'color'): Promise<number> {
  return element.evaluate((el, property) => {
    const rgb = (css: string): number[] => (css.match(/[\d.]+/g) ?? []).map(Number);
    const luminance = ([r, g, b]: number[]): number => {
      const [R, G, B] = [r!, g!, b!].map((c) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * R! + 0.7152 * G! + 0.0722 * B!;
    };
    let back: Element | null = el;
    let background = 'rgb(255, 255, 255)';
    while (back) {
      const value = getComputedStyle(back).backgroundColor;
      const alpha = rgb(value)[3];
      if (value !== 'transparent' && (alpha === undefined || alpha > 0.5)) {
        background = value;
        break;
      }
      back = back.parentElement;
    }
    const style = getComputedStyle(el);
    const [a, b] = [luminance(rgb(style[property])), luminance(rgb(background))];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }, color);
}

describe.skipIf(missing)(
  `presentation mode and the dark theme${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('presents one section per screen without code, navigates by keys and buttons, keeps live outputs live, and exits', async () => {
      const page = await openNotebook(wb.browser, wb.serve.url, lesson());
      const problems = consoleProblems(page);
      await cell(page, 4).locator('svg').first().waitFor();
      const chartWidth = (await cell(page, 4).locator('svg').first().boundingBox())!.width;
      await page.getByRole('button', { name: 'Present', exact: true }).click();
      const bar = page.getByRole('toolbar', { name: 'Presentation' });
      await bar.waitFor();
      expect(await position(page).textContent()).toBe('section 1 of 3 · Dose arithmetic');
      expect(await page.getByRole('banner').isVisible()).toBe(false);
      expect(await page.getByRole('complementary', { name: 'Jobs' }).isVisible()).toBe(false);
      expect(await page.locator('.cm-editor:visible').count()).toBe(0);
      expect(await cell(page, 1).isVisible()).toBe(true);
      expect(await cell(page, 4).isVisible()).toBe(false);
      expect(await bar.getByRole('button', { name: 'Previous section' }).isDisabled()).toBe(true);

      await page.keyboard.press('ArrowRight');
      expect(await position(page).textContent()).toBe('section 2 of 3 · Doses by weight');
      expect(await cell(page, 1).isVisible()).toBe(false);
      // The chart is larger than in the notebook.
      const presented = (await cell(page, 4).locator('svg').first().boundingBox())!.width;
      expect(presented).toBeGreaterThan(chartWidth * 1.2);
      await screenshot(page, 'ui-presentation-chart');

      await page.keyboard.press('End');
      expect(await position(page).textContent()).toBe('section 3 of 3 · A live counter');
      const first = await tick(page);
      await expect.poll(() => tick(page)).toBeGreaterThan(first + 2);
      expect(await bar.getByRole('button', { name: 'Next section' }).isDisabled()).toBe(true);

      await page.keyboard.press('Home');
      expect(await position(page).textContent()).toMatch(/^section 1 of 3/);
      await page.keyboard.press('PageDown');
      expect(await position(page).textContent()).toMatch(/^section 2 of 3/);
      await page.keyboard.press('PageUp');
      expect(await position(page).textContent()).toMatch(/^section 1 of 3/);
      await bar.getByRole('button', { name: 'Next section' }).click();
      await bar.getByRole('button', { name: 'Next section' }).click();
      expect(await position(page).textContent()).toMatch(/^section 3 of 3/);
      await bar.getByRole('button', { name: 'Previous section' }).click();
      expect(await position(page).textContent()).toMatch(/^section 2 of 3/);
      // Space on a focused button presses the button; elsewhere it turns the page.
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await page.keyboard.press('Space');
      expect(await position(page).textContent()).toMatch(/^section 3 of 3/);
      await page.keyboard.press('ArrowLeft');
      expect(await position(page).textContent()).toMatch(/^section 2 of 3/);

      await page.keyboard.press('Escape');
      expect(await bar.isVisible()).toBe(false);
      expect(await page.getByRole('banner').isVisible()).toBe(true);
      expect(await cell(page, 1).isVisible()).toBe(true);
      expect(await cell(page, 8).isVisible()).toBe(true);

      await page.keyboard.press('Alt+P');
      await bar.waitFor();
      await bar.getByRole('button', { name: 'Exit presentation' }).click();
      expect(await bar.isVisible()).toBe(false);
      expect(problems).toEqual([]);
      await page.close();
    });

    it('in the dark theme the window is dark and text, chart labels and tables stay readable', async () => {
      const page = await wb.browser.newPage();
      await page.emulateMedia({ colorScheme: 'dark' });
      const problems = consoleProblems(page);
      await page.goto(`${wb.serve.url}#notebook=${encodeURIComponent(lesson())}`);
      await cell(page, 4).locator('svg').first().waitFor();
      await cell(page, 5).locator('table td').first().waitFor();
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r, g, b] = (background.match(/\d+/g) ?? []).map(Number);
      expect(r! + g! + b!).toBeLessThan(3 * 60);
      expect(await contrast(cell(page, 1).locator('h1'))).toBeGreaterThan(7);
      expect(await contrast(cell(page, 1).locator('p'))).toBeGreaterThan(7);
      expect(
        await contrast(
          cell(page, 4).locator('svg [aria-label="y-axis tick label"] text').first(),
          'fill',
        ),
      ).toBeGreaterThan(4.5);
      expect(await contrast(cell(page, 5).locator('table td').first())).toBeGreaterThan(4.5);
      expect(await contrast(cell(page, 5).locator('table th').first())).toBeGreaterThan(4.5);
      expect(
        await contrast(
          page.getByRole('navigation', { name: 'Notebooks' }).locator('button').first(),
        ),
      ).toBeGreaterThan(4.5);
      expect(
        await contrast(page.getByRole('complementary', { name: 'Jobs' }).locator('p')),
      ).toBeGreaterThan(4.5);
      await screenshot(page, 'ui-dark-theme');
      await page.getByRole('button', { name: 'Present', exact: true }).click();
      await page.keyboard.press('ArrowRight');
      await screenshot(page, 'ui-dark-presentation');
      expect(problems).toEqual([]);
      await page.close();
    });

    it.skipIf(!screenshotsDir)(
      `the flagship notebook presented after Run all at preset tiny (saved to ${screenshotsDir}/presentation.png)`,
      async () => {
        const page = await openNotebook(wb.browser, wb.serve.url, flagship(), '&preset=tiny');
        await page.getByRole('banner').getByRole('button', { name: 'Run all' }).click();
        // Run all may first state its cost and ask; confirm it.
        const confirm = page.getByRole('alert').getByRole('button', { name: 'Run all' });
        if (await confirm.isVisible({ timeout: 5000 }).catch(() => false)) await confirm.click();
        await page
          .locator('section.cell svg.gain-ladder g.stage')
          .first()
          .waitFor({ timeout: 900_000 });
        await expect
          .poll(() => page.locator('section.cell.cell-running').count(), { timeout: 300_000 })
          .toBe(0);
        await page.getByRole('button', { name: 'Present', exact: true }).click();
        const bar = page.getByRole('toolbar', { name: 'Presentation' });
        while (!/The SFT curriculum/.test((await position(page).textContent()) ?? ''))
          await bar.getByRole('button', { name: 'Next section' }).click();
        await page.setViewportSize({ width: 1280, height: 800 });
        mkdirSync(join(projectRoot, screenshotsDir!), { recursive: true });
        const path = join(projectRoot, screenshotsDir!, 'presentation.png');
        await page.screenshot({ path });
        expect(statSync(path).size).toBeLessThan(300_000);
        await page.close();
      },
      1_500_000,
    );
  },
);
