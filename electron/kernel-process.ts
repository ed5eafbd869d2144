// The kernel's utility process: one Kernel, served over every MessagePort the main process sends.
import { defaultJobs } from '../src/kernel/jobs/index.ts';
import { Kernel } from '../src/kernel/kernel.ts';
import { attachKernelToPort } from '../src/kernel/serve.ts';

const kernel = new Kernel({ jobs: defaultJobs() });

process.parentPort.on('message', (event) => {
  for (const port of event.ports) attachKernelToPort(kernel, port);
});
