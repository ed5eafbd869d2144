// The window's security settings and the guards on every page's web contents, kept apart from
// main.ts so they are tested without the Electron binary.
import type { BrowserWindowConstructorOptions, Event, WebContents } from 'electron';
import { isAppFrame } from './ipc.ts';

/**
 * The main window: the page is sandboxed, isolated from the preload's world and has no
 * Node; `preload` is the built preload script (out/electron/preload.cjs).
 */
export function windowOptions(preload: string): BrowserWindowConstructorOptions {
  return {
    width: 1400,
    height: 900,
    title: 'FineMed Workbench',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  };
}

/** The part of a page's web contents {@link hardenContents} uses. */
export type GuardedContents = Pick<WebContents, 'setWindowOpenHandler'> & {
  on(event: 'will-navigate', listener: (event: Event, url: string) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: Event) => void): unknown;
};

/**
 * Keeps every page on the app's own scheme: no new windows, no navigation elsewhere (a link
 * in a notebook's output cannot turn the window into a remote page with the preload's
 * bridge), no `<webview>`.
 */
export function hardenContents(contents: GuardedContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event, url) => {
    if (!isAppFrame(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}
