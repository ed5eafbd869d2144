import {
  MessageChannelMain,
  utilityProcess,
  type UtilityProcess,
  type WebContents,
} from 'electron';
import { KERNEL_PORT_CHANNEL } from '../src/ui/app/bridge.ts';

/**
 * The kernel in its own utility process, so a training step never blocks the window. Each
 * renderer connection gets a fresh MessageChannel: one end to the kernel, one to the page.
 */
export class KernelHost {
  private child: UtilityProcess | undefined;

  /** `entry` is the utility process's script (it loads the TypeScript kernel through tsx). */
  constructor(private readonly entry: string) {}

  /** Hands `contents` a port to the kernel, starting (or, with `restart`, replacing) its process. */
  connect(contents: WebContents, restart: boolean): void {
    if (restart) this.stop();
    const child = this.ensure();
    const { port1, port2 } = new MessageChannelMain();
    child.postMessage({ type: 'connect' }, [port1]);
    contents.postMessage(KERNEL_PORT_CHANNEL, null, [port2]);
  }

  /** Ends the kernel process (its jobs' worker threads end with it). */
  stop(): void {
    this.child?.kill();
    this.child = undefined;
  }

  private ensure(): UtilityProcess {
    if (this.child) return this.child;
    const child = utilityProcess.fork(this.entry, [], {
      serviceName: 'FineMed kernel',
      stdio: 'inherit',
    });
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    this.child = child;
    return child;
  }
}
