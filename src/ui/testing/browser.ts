// Test support for the browser tests: `finemed serve` in a child process and Debian's Chromium.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { projectRoot } from '../../core/version.ts';

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM)
    ? undefined
    : `${CHROMIUM} is not installed (apt-get install chromium)`;
}

/** A `finemed serve` process started for a test. */
export interface ServeProcess {
  /** The URL it printed, token included. */
  url: string;
  /** The child process. */
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Stops it with Ctrl-C (SIGINT) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `finemed serve --port 0` with `args` and resolves once it prints its URL. */
export function startServe(args: string[], env: Record<string, string>): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [join(projectRoot, 'bin', 'finemed.js'), 'serve', '--port', '0', ...args],
    { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      const url = /^(http:\/\/\S+\?token=\S+)$/m.exec(out)?.[1];
      if (url) {
        resolve({
          url,
          child,
          stderr: () => err,
          stop: async () => {
            if (child.exitCode === null) child.kill('SIGINT');
            await exited;
          },
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`finemed serve exited with ${code}: ${err}`)));
  });
}

/** Chromium headless with a fresh profile, as CI runs it. */
export async function launchBrowser(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'finemed-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Saves a screenshot as `test-results/NAME.png` (gitignored) for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(projectRoot, 'test-results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
