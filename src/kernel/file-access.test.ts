// The kernel's `file` request under the workspace policy, through a real client and transport.
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../core/artifacts.ts';
import { AccessError, InputError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import { WorkspacePolicy } from '../core/workspace.ts';
import { KernelClient } from './client.ts';
import { testJobs } from './fixtures/test-jobs.ts';
import { Kernel } from './kernel.ts';
import { serveKernel } from './serve.ts';
import { inProcessPair } from './transport.ts';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'finemed-file-access-')));
const notebooks = join(root, 'notebooks');
const home = join(root, 'home');
const added = join(root, 'data');
const secret = join(root, 'secret');
for (const dir of [notebooks, home, added, secret]) mkdirSync(dir);
writeFileSync(join(notebooks, 'notes.txt'), 'ward round');
writeFileSync(join(added, 'table.csv'), 'a,b\n1,2\n');
writeFileSync(join(secret, 'key.txt'), 'do not read');
symlinkSync(join(secret, 'key.txt'), join(notebooks, 'escape.txt'));
symlinkSync('/dev/zero', join(added, 'zero.bin'));
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
writeFileSync(join(notebooks, 'pixel.png'), png);

const workspace = new WorkspacePolicy({
  notebooksDir: notebooks,
  home,
  allowRead: [added],
  maxReadBytes: 1024,
});
const kernel = new Kernel({
  store: new ArtifactStore(home),
  jobs: testJobs,
  baseDir: notebooks,
  workspace,
});
const [clientEnd, kernelEnd] = inProcessPair();
serveKernel(kernel, kernelEnd);
const client = new KernelClient(clientEnd);

afterAll(async () => {
  client.close();
  await kernel.close();
});

describe('the kernel `file` request under the workspace policy', () => {
  it('reads text in the notebooks folder and an --allow-read folder', async () => {
    expect(await client.file('notes.txt', notebooks)).toMatchObject({
      text: 'ward round',
      path: join(notebooks, 'notes.txt'),
    });
    expect((await client.file(join(added, 'table.csv'))).text).toBe('a,b\n1,2\n');
  });

  it("encoding 'base64' returns the bytes, hashed like the text form", async () => {
    const file = await client.file('pixel.png', notebooks, undefined, 'base64');
    expect(Buffer.from(file.base64, 'base64')).toEqual(png);
    expect(file).toMatchObject({ bytes: png.length, sha256: sha256(png) });
    expect(file).not.toHaveProperty('text');
  });

  it('refuses /etc/passwd with an AccessError that crosses the wire by name', async () => {
    const read = client.file('/etc/passwd');
    await expect(read).rejects.toBeInstanceOf(AccessError);
    await expect(read).rejects.toMatchObject({
      name: 'AccessError',
      file: '/etc/passwd',
      message: expect.stringContaining('outside the folders cells may read'),
    });
    await expect(client.file('../secret/key.txt', notebooks)).rejects.toBeInstanceOf(AccessError);
  });

  it('refuses a base outside the allowed folders, even for a path inside them', async () => {
    await expect(client.file('notes.txt', '/etc')).rejects.toMatchObject({
      name: 'AccessError',
      field: 'base',
    });
    await expect(client.file('key.txt', secret)).rejects.toMatchObject({ field: 'base' });
  });

  it('refuses a symlink that leads out of the allowed folders', async () => {
    await expect(client.file('escape.txt', notebooks)).rejects.toMatchObject({
      name: 'AccessError',
      message: expect.stringContaining(`it leads to ${join(secret, 'key.txt')}`),
    });
  });

  it('refuses /dev/zero, named or behind a symlink, without reading it', async () => {
    await expect(client.file('/dev/zero')).rejects.toBeInstanceOf(AccessError);
    // Inside an allowed folder, the link resolves to a device outside every root.
    await expect(client.file(join(added, 'zero.bin'))).rejects.toBeInstanceOf(AccessError);
    // A device inside an allowed folder is still not a regular file.
    const devKernel = new Kernel({
      store: new ArtifactStore(home),
      workspace: new WorkspacePolicy({ notebooksDir: notebooks, home, allowRead: ['/dev'] }),
    });
    await expect(devKernel.readFile('/dev/zero')).rejects.toMatchObject({
      name: 'AccessError',
      reason: 'not a regular file',
    });
    await devKernel.close();
  });

  it('refuses a file over the size limit, naming the limit', async () => {
    writeFileSync(join(notebooks, 'big.txt'), 'x'.repeat(2048));
    await expect(client.file('big.txt', notebooks)).rejects.toMatchObject({
      name: 'AccessError',
      reason: '2048 bytes is over the 1024 bytes limit',
    });
  });

  it('a missing file inside the folders is an ordinary input error', async () => {
    const read = client.file('missing.txt', notebooks);
    await expect(read).rejects.toBeInstanceOf(InputError);
    await expect(read).rejects.not.toBeInstanceOf(AccessError);
  });

  it('reads the folder of a notebook the user opened (the recent list in FINEMED_HOME)', async () => {
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'cohort.csv'), 'n\n3\n');
    await expect(client.file('cohort.csv', elsewhere)).rejects.toBeInstanceOf(AccessError);
    writeFileSync(join(home, 'recent.json'), JSON.stringify([join(elsewhere, 'study.html')]));
    expect((await client.file('cohort.csv', elsewhere)).text).toBe('n\n3\n');
  });
});
