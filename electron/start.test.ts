import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { menuTemplate } from './menu.ts';
import { electronBinary } from './start.ts';

describe('electronBinary(env, root)', () => {
  it('says why when the binary was never downloaded, without trying to download it', () => {
    const root = mkdtempSync(join(tmpdir(), 'finemed-electron-'));
    mkdirSync(join(root, 'node_modules', 'electron'), { recursive: true });
    const found = electronBinary({}, root);
    expect(found).toEqual({
      missing: `${join(root, 'node_modules', 'electron', 'path.txt')} is absent: the Electron binary was never installed`,
    });
  });

  it('finds the binary named by path.txt under dist/ or ELECTRON_OVERRIDE_DIST_PATH', () => {
    const root = mkdtempSync(join(tmpdir(), 'finemed-electron-'));
    const pkg = join(root, 'node_modules', 'electron');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'path.txt'), 'electron');
    expect(electronBinary({}, root)).toEqual({
      missing: `${join(pkg, 'dist', 'electron')} does not exist`,
    });
    writeFileSync(join(pkg, 'dist', 'electron'), '');
    expect(electronBinary({}, root)).toEqual({ path: join(pkg, 'dist', 'electron') });
    const other = mkdtempSync(join(tmpdir(), 'finemed-electron-dist-'));
    writeFileSync(join(other, 'electron'), '');
    expect(electronBinary({ ELECTRON_OVERRIDE_DIST_PATH: other }, root)).toEqual({
      path: join(other, 'electron'),
    });
  });
});

describe('menuTemplate(recent, send, platform)', () => {
  it('offers open, recent files, save, save as, run all, interrupt and restart, each sending its command', () => {
    const sent: string[] = [];
    const template = menuTemplate(['/home/u/ward.html'], (command, path) =>
      sent.push(path ? `${command} ${path}` : command),
    );
    const items = template.flatMap((menu) => (Array.isArray(menu.submenu) ? menu.submenu : []));
    const recent = items.find((item) => item.label === 'Open Recent');
    const entries = Array.isArray(recent?.submenu) ? recent.submenu : [];
    for (const item of [...items, ...entries]) {
      (item.click as (() => void) | undefined)?.();
    }
    expect(sent).toEqual([
      'open',
      'save',
      'save-as',
      'run-all',
      'interrupt',
      'restart-kernel',
      'open-recent /home/u/ward.html',
    ]);
    expect(entries[0]).toMatchObject({ label: 'ward.html', sublabel: '/home/u/ward.html' });
  });
});
