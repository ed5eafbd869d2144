import { describe, expect, it } from 'vitest';
import { hardenContents, windowOptions, type GuardedContents } from './window.ts';

describe('windowOptions(preload)', () => {
  it('isolates and sandboxes the page, with no Node in it, its workers or its frames', () => {
    const prefs = windowOptions('/app/out/electron/preload.cjs').webPreferences;
    expect(prefs).toMatchObject({
      preload: '/app/out/electron/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    expect(prefs).not.toHaveProperty('experimentalFeatures');
  });
});

/** A stand-in for a page's web contents that records what the guards decide. */
function fakeContents(): {
  contents: GuardedContents;
  openWindow(url: string): string;
  navigate(url: string): boolean;
  attachWebview(): boolean;
} {
  let openHandler: ((details: { url: string }) => { action: string }) | undefined;
  const listeners = new Map<string, (event: { preventDefault(): void }, url?: string) => void>();
  const contents = {
    setWindowOpenHandler: (handler: typeof openHandler) => (openHandler = handler),
    on: (name: string, listener: (event: { preventDefault(): void }, url?: string) => void) =>
      listeners.set(name, listener),
  } as unknown as GuardedContents;
  const allowed = (name: string, url?: string): boolean => {
    let prevented = false;
    listeners.get(name)?.({ preventDefault: () => (prevented = true) }, url);
    return !prevented;
  };
  return {
    contents,
    openWindow: (url) => openHandler?.({ url }).action ?? 'allow',
    navigate: (url) => allowed('will-navigate', url),
    attachWebview: () => allowed('will-attach-webview'),
  };
}

describe('hardenContents(contents)', () => {
  it('denies new windows and webviews, and navigation away from the app scheme', () => {
    const page = fakeContents();
    hardenContents(page.contents);
    expect(page.openWindow('https://example.org/')).toBe('deny');
    expect(page.openWindow('finemed-app://app/index.html')).toBe('deny');
    expect(page.navigate('finemed-app://app/index.html#notebook=x')).toBe(true);
    expect(page.navigate('https://example.org/')).toBe(false);
    expect(page.navigate('file:///etc/passwd')).toBe(false);
    expect(page.navigate('finemed-app://other/index.html')).toBe(false);
    expect(page.attachWebview()).toBe(false);
  });
});
