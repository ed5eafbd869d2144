import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { KernelClient } from '../src/kernel/client.ts';
import { PROTOCOL_VERSION } from '../src/kernel/protocol.ts';
import { portTransport } from '../src/kernel/transport.ts';

describe('the kernel utility process (electron/kernel-process.ts)', () => {
  it('serves the kernel protocol on each MessagePort the main process sends', async () => {
    // Electron gives a utility process `process.parentPort`; here it is a stand-in emitter.
    const parentPort = new EventEmitter();
    Object.assign(process, { parentPort });
    process.env.FINEMED_HOME = mkdtempSync(join(tmpdir(), 'finemed-kernel-process-'));
    await import('./kernel-process.ts');
    const clients = [0, 1].map(() => {
      const { port1, port2 } = new MessageChannel();
      parentPort.emit('message', { data: { type: 'connect' }, ports: [port2] });
      return new KernelClient(portTransport(port1));
    });
    for (const client of clients) {
      const info = await client.hello();
      expect(info.protocol).toBe(PROTOCOL_VERSION);
      expect(await client.status()).toEqual([]);
      client.close();
    }
  });
});
