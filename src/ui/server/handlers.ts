import type { ArtifactStore } from '../../core/artifacts.ts';
import { packageVersion } from '../../core/version.ts';
import { listArtifacts, previewArtifact } from './artifacts.ts';
import type { NotebookLibrary } from './notebooks.ts';
import type { AppInfo, OperationHandlers } from './operations.ts';

/** What the host operations act on. */
export interface HostServices {
  /** Notebook files, recent list, recovery and trust. */
  library: NotebookLibrary;
  /** The artifact store the kernel writes into. */
  store: ArtifactStore;
  /** The folder the notebook list shows. */
  notebooksDir: string;
  /** Which shell serves the renderer. */
  shell: AppInfo['shell'];
}

/** The operations a renderer may call, over the given services (shared by `serve` and Electron). */
export function hostHandlers(services: HostServices): OperationHandlers {
  const { library, store } = services;
  return {
    'app.info': async () => ({
      version: packageVersion(),
      notebooksDir: services.notebooksDir,
      shell: services.shell,
    }),
    'notebooks.list': () => library.list(),
    'notebook.open': ({ path }) => library.open(path),
    'notebook.save': ({ path, text }) => library.save(path, text),
    'notebook.create': ({ title }) => library.create(title),
    'notebook.rename': ({ path, name }) => library.rename(path, name),
    'notebook.recover': async ({ path, text, baseSha256 }) => {
      await library.saveRecovery(path, text, baseSha256);
      return null;
    },
    'notebook.discardRecovery': async ({ path }) => {
      await library.discardRecovery(path);
      return null;
    },
    'notebook.trust': async ({ path, sha256 }) => {
      await library.trust(path, sha256);
      return null;
    },
    'artifacts.list': ({ kind }) => listArtifacts(store, kind),
    'artifacts.preview': ({ kind, key }) => previewArtifact(store, kind, key),
  };
}
