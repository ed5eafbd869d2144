import { basename } from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import type { AppCommand } from '../src/ui/app/host.ts';

/** What menu items do: send a command to the page. */
export type SendCommand = (command: AppCommand, path?: string) => void;

/**
 * The application menu: File (open, recent files, save, save as), Edit, Notebook (run all,
 * interrupt, restart kernel), View and Help. Rebuilt when the recent files change.
 */
export function menuTemplate(
  recent: string[],
  send: SendCommand,
  platform: NodeJS.Platform = process.platform,
): MenuItemConstructorOptions[] {
  const recentItems: MenuItemConstructorOptions[] = recent.length
    ? recent.map((path) => ({
        label: basename(path),
        sublabel: path,
        click: () => send('open-recent', path),
      }))
    : [{ label: 'No recent notebooks', enabled: false }];
  return [
    ...(platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: () => send('open') },
        { label: 'Open Recent', submenu: recentItems },
        { type: 'separator' },
        { label: 'Save', accelerator: 'CmdOrCtrl+S', click: () => send('save') },
        { label: 'Save As…', accelerator: 'CmdOrCtrl+Shift+S', click: () => send('save-as') },
        { type: 'separator' },
        platform === 'darwin' ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'Notebook',
      submenu: [
        { label: 'Run All', accelerator: 'CmdOrCtrl+Shift+Enter', click: () => send('run-all') },
        { label: 'Interrupt', accelerator: 'CmdOrCtrl+.', click: () => send('interrupt') },
        { label: 'Restart Kernel', click: () => send('restart-kernel') },
      ],
    },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        { role: 'toggleDevTools' },
      ],
    },
    { role: 'help', submenu: [{ role: 'about' }] },
  ];
}
