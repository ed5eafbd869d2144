// Entry of the kernel's utility process. The kernel and its job workers are TypeScript run
// through tsx (as the CLI is), so this small file registers tsx before loading them.
import { register } from 'tsx/esm/api';

register();
await import('./kernel-process.ts');
