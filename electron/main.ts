// The desktop app's main process: one window on the bundled renderer, served from the app's own
// scheme under a strict CSP; host calls validated and answered here; the kernel in a utility process.
import { basename, join } from 'node:path';
import {
  BrowserWindow,
  Menu,
  app,
  dialog,
  ipcMain,
  protocol,
  session,
  type IpcMainInvokeEvent,
} from 'electron';
import { ArtifactStore } from '../src/core/artifacts.ts';
import { finemedHome } from '../src/core/home.ts';
import { projectRoot } from '../src/core/version.ts';
import { WorkspacePolicy } from '../src/core/workspace.ts';
import { PROJECT_NOTEBOOKS } from '../src/notebook/node/trust.ts';
import { COMMAND_CHANNEL, ipcChannel } from '../src/ui/app/bridge.ts';
import type { AppCommand } from '../src/ui/app/host.ts';
import { hostHandlers } from '../src/ui/server/handlers.ts';
import { NotebookLibrary } from '../src/ui/server/notebooks.ts';
import { dispatchOperation } from '../src/ui/server/operations.ts';
import { ipcCallNames, isAppFrame, validateIpc, type IpcCall } from './ipc.ts';
import { KernelHost } from './kernel-host.ts';
import { menuTemplate } from './menu.ts';
import { APP_SCHEME, rendererResponder } from './renderer-protocol.ts';
import { hardenContents, windowOptions } from './window.ts';

const rendererDir = join(projectRoot, 'out', 'renderer');
const home = finemedHome();
// The kernel's utility process builds the same policy (kernel-process.ts); it learns the
// folders of notebooks opened here from the recent list in FINEMED_HOME.
const workspace = new WorkspacePolicy({ notebooksDir: PROJECT_NOTEBOOKS, home });
const library = new NotebookLibrary({
  home,
  listDir: PROJECT_NOTEBOOKS,
  trustedDirs: [PROJECT_NOTEBOOKS],
  workspace,
});
const handlers = hostHandlers({
  library,
  store: new ArtifactStore(home),
  notebooksDir: PROJECT_NOTEBOOKS,
  shell: 'electron',
});
const kernel = new KernelHost(join(projectRoot, 'electron', 'kernel-entry.mjs'));
let window: BrowserWindow | undefined;
let dirty = false;
let dirtyPath: string | undefined;
let closing = false;

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

function send(command: AppCommand, path?: string): void {
  window?.webContents.send(COMMAND_CHANNEL, command, path);
}

async function refreshMenu(): Promise<void> {
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(await library.recent(), send)));
}

async function answer(event: IpcMainInvokeEvent, call: IpcCall): Promise<unknown> {
  if (call.kind === 'operation') {
    const value = await dispatchOperation(handlers, call.name, call.payload);
    if (call.name.startsWith('notebook.') && call.name !== 'notebook.recover') await refreshMenu();
    return value;
  }
  const owner = BrowserWindow.fromWebContents(event.sender) ?? undefined;
  const filters = [{ name: 'Notebooks', extensions: ['html'] }];
  switch (call.name) {
    case 'dialog.openNotebook': {
      const options = { filters, properties: ['openFile' as const] };
      const chosen = owner
        ? await dialog.showOpenDialog(owner, options)
        : await dialog.showOpenDialog(options);
      return chosen.canceled ? null : (chosen.filePaths[0] ?? null);
    }
    case 'dialog.saveNotebookAs': {
      const options = { filters, defaultPath: call.payload.suggested };
      const chosen = owner
        ? await dialog.showSaveDialog(owner, options)
        : await dialog.showSaveDialog(options);
      if (chosen.canceled || !chosen.filePath) return null;
      // Chosen in the native dialog, by the user: the one way to save outside the folder.
      await workspace.grantSave(chosen.filePath);
      return chosen.filePath;
    }
    case 'window.setDirty':
      dirty = call.payload.dirty;
      dirtyPath = call.payload.path;
      owner?.setDocumentEdited(dirty);
      return null;
    case 'window.close':
      closing = true;
      owner?.close();
      return null;
    case 'kernel.connect':
      kernel.connect(event.sender, call.payload.restart);
      return null;
  }
}

function listen(): void {
  for (const name of ipcCallNames) {
    ipcMain.handle(ipcChannel(name), (event, payload: unknown) => {
      if (!isAppFrame(event.senderFrame?.url)) {
        throw new Error(`IPC call '${name}' from a frame that is not the app's page refused`);
      }
      return answer(event, validateIpc(name, payload));
    });
  }
}

function createWindow(): void {
  const win = new BrowserWindow(windowOptions(join(projectRoot, 'out', 'electron', 'preload.cjs')));
  window = win;
  win.on('close', (event) => {
    if (!dirty || closing) return;
    event.preventDefault();
    const name = dirtyPath ? basename(dirtyPath) : 'this notebook';
    const choice = dialog.showMessageBoxSync(win, {
      type: 'question',
      buttons: ['Save', "Don't Save", 'Cancel'],
      defaultId: 0,
      cancelId: 2,
      message: `Save the changes to ${name}?`,
      detail: 'Unsaved edits are also kept in a recovery file and offered when you open it again.',
    });
    if (choice === 0) send('save-and-close');
    else if (choice === 1) {
      closing = true;
      win.close();
    }
  });
  win.on('closed', () => {
    window = undefined;
    closing = false;
    dirty = false;
  });
  void win.loadURL(`${APP_SCHEME}://app/index.html`);
}

void app.whenReady().then(async () => {
  protocol.handle(APP_SCHEME, rendererResponder(rendererDir));
  // The page needs no camera, microphone, notifications or the like.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, grant) =>
    grant(false),
  );
  listen();
  await refreshMenu();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('web-contents-created', (_event, contents) => hardenContents(contents));

app.on('window-all-closed', () => {
  kernel.stop();
  if (process.platform !== 'darwin') app.quit();
});
