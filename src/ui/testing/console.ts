// Test support: every console error, uncaught page error and CSP violation of a page.
import type { BrowserContext, Page } from 'playwright-core';

/**
 * Makes every page of `browser` report CSP violations as console errors, including those
 * Chromium does not log itself (a refused style or font says nothing in the console).
 */
export async function reportCspViolations(browser: BrowserContext): Promise<void> {
  await browser.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(
        `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline code'} ` +
          `(${event.sourceFile}:${event.lineNumber}:${event.columnNumber})`,
      );
    });
  });
}

/**
 * Collects the page's console errors and uncaught errors, so a test can expect none; CSP
 * violations are among them once `reportCspViolations` (which `startWorkbench` calls) is on.
 */
export function consoleProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return problems;
}
