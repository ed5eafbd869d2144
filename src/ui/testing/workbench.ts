// Test support: one browser test file's workbench — a fresh FINEMED_HOME and notebooks folder,
// `finemed serve` on them, and Debian's Chromium reporting CSP violations as console errors.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { projectRoot } from '../../core/version.ts';
import { NotebookTrust } from '../../notebook/node/trust.ts';
import { launchBrowser, startServe, type ServeProcess } from './browser.ts';
import { reportCspViolations } from './console.ts';

/** The UI test fixtures folder. */
export const UI_FIXTURES = join(projectRoot, 'src', 'ui', 'fixtures');

/** The project's own notebooks (the flagship and the lessons). */
export const PROJECT_NOTEBOOKS = join(projectRoot, 'notebooks');

/** The job types browser tests register besides the built-in ones. */
export const TEST_JOBS = join(projectRoot, 'src', 'kernel', 'fixtures', 'test-jobs.ts');

/** What a test file's workbench starts with. */
export interface WorkbenchSetup {
  /** Prefix of the temporary folder, naming the test file. */
  name: string;
  /** Notebooks copied into the notebooks folder and trusted by their text. */
  trusted?: string[];
  /** Other files copied beside them, untrusted (data files, notebooks to be trusted in the test). */
  files?: string[];
  /** Register the test job types (`test.steps`, `test.resume`, ...). */
  testJobs?: boolean;
}

/** A running workbench: its folders, its server and the browser driving it. */
export interface TestWorkbench {
  /** The temporary folder holding `home` and `notebooks`; a test may add folders beside them. */
  root: string;
  /** FINEMED_HOME of the server. */
  home: string;
  /** The folder the server lists and saves notebooks in. */
  notebooks: string;
  /** The server. */
  serve: ServeProcess;
  /** Chromium with a fresh profile. */
  browser: BrowserContext;
  /** Closes the browser and stops the server. */
  stop(): Promise<void>;
}

/** Creates the folders, copies and trusts the notebooks, starts the server and the browser. */
export async function startWorkbench(setup: WorkbenchSetup): Promise<TestWorkbench> {
  const root = mkdtempSync(join(tmpdir(), `finemed-${setup.name}-`));
  const home = join(root, 'home');
  const notebooks = join(root, 'notebooks');
  for (const dir of [home, notebooks]) mkdirSync(dir, { recursive: true });
  const trust = new NotebookTrust(home, []);
  for (const from of setup.trusted ?? []) {
    const to = join(notebooks, basename(from));
    copyFileSync(from, to);
    await trust.trust(readFileSync(to, 'utf8'));
  }
  for (const from of setup.files ?? []) copyFileSync(from, join(notebooks, basename(from)));
  const serve = await startServe(
    ['--notebooks', notebooks, ...(setup.testJobs ? ['--jobs', TEST_JOBS] : [])],
    { FINEMED_HOME: home },
  );
  const browser = await launchBrowser();
  await reportCspViolations(browser);
  return {
    root,
    home,
    notebooks,
    serve,
    browser,
    stop: async () => {
      await browser.close();
      await serve.stop();
    },
  };
}
