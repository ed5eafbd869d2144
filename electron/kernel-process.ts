// The kernel's utility process: one Kernel, served over every MessagePort the main process sends.
import { finemedHome } from '../src/core/home.ts';
import { WorkspacePolicy } from '../src/core/workspace.ts';
import { defaultJobs } from '../src/kernel/jobs/index.ts';
import { Kernel } from '../src/kernel/kernel.ts';
import { attachKernelToPort } from '../src/kernel/serve.ts';
import { PROJECT_NOTEBOOKS } from '../src/notebook/node/trust.ts';

// The main process's policy, rebuilt here: folders of notebooks the user opened there are read
// from the recent list in FINEMED_HOME.
const kernel = new Kernel({
  jobs: defaultJobs(),
  workspace: new WorkspacePolicy({ notebooksDir: PROJECT_NOTEBOOKS, home: finemedHome() }),
});

process.parentPort.on('message', (event) => {
  for (const port of event.ports) attachKernelToPort(kernel, port);
});
