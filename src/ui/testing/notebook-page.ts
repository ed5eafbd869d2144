// Test support: the workbench page as a user drives it, shared by every browser test
// (the small fixture notebooks now, the flagship notebook when it exists).
import type { BrowserContext, Locator, Page } from 'playwright-core';

/** A cell of the open notebook, by its id in the file. */
export function cell(page: Page, id: number): Locator {
  return page.locator(`section.cell[data-cell-id="${id}"]`);
}

/** Opens `path` in a new tab of `browser` (the server's tokened `url`), with extra hash parameters such as `&preset=tiny`. */
export async function openNotebook(
  browser: BrowserContext,
  url: string,
  path: string,
  hash = '',
): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${url}#notebook=${encodeURIComponent(path)}${hash}`);
  await page.locator('section.cell').first().waitFor();
  return page;
}

/** Replaces a cell's source by typing, then runs it with Shift+Enter. */
export async function typeAndRun(page: Page, id: number, source: string): Promise<void> {
  await cell(page, id).locator('.cm-content').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(source);
  await page.keyboard.press('Shift+Enter');
}

/** How many cells are in each state (`done`, `running`, `stale`, `error`...). */
export async function cellStates(page: Page): Promise<Record<string, number>> {
  const classes = await page
    .locator('section.cell')
    .evaluateAll((cells) =>
      cells.map(
        (c) =>
          /\bcell-(idle|running|waiting|stale|error|blocked|cancelled|done)\b/.exec(
            c.className,
          )?.[1],
      ),
    );
  const counts: Record<string, number> = {};
  for (const state of classes) counts[state ?? 'unknown'] = (counts[state ?? 'unknown'] ?? 0) + 1;
  return counts;
}

/** Clicks Run all and confirms the bar stating its cost, if costly jobs make it ask. */
export async function runAll(page: Page): Promise<void> {
  await page.locator('button.cmd-run-all').click();
  const confirm = page.locator('.run-all-bar button.run-all-confirm');
  // The bar appears at once when it appears at all.
  await confirm.waitFor({ timeout: 1000 }).then(
    () => confirm.click(),
    () => undefined,
  );
}
