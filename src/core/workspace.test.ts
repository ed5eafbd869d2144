import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessError, InputError } from './errors.ts';
import { WorkspacePolicy, readRegular } from './workspace.ts';

function setup(): { root: string; notebooks: string; elsewhere: string; policy: WorkspacePolicy } {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'finemed-workspace-')));
  const notebooks = join(root, 'notebooks');
  const elsewhere = join(root, 'elsewhere');
  mkdirSync(notebooks);
  mkdirSync(elsewhere);
  writeFileSync(join(elsewhere, 'a.html'), '<notebook></notebook>');
  const policy = new WorkspacePolicy({
    notebooksDir: notebooks,
    home: join(root, 'home'),
    maxNotebookBytes: 100,
  });
  return { root, notebooks, elsewhere, policy };
}

const savedHome = process.env.HOME;
afterEach(() => {
  process.env.HOME = savedHome;
});

describe('WorkspacePolicy.saveTarget', () => {
  it('allows the notebooks folder, an opened file and a granted one; nothing else', async () => {
    const { notebooks, elsewhere, policy } = setup();
    expect(await policy.saveTarget(join(notebooks, 'n.html'), 10)).toBe(join(notebooks, 'n.html'));
    const opened = join(elsewhere, 'a.html');
    await expect(policy.saveTarget(opened, 10)).rejects.toBeInstanceOf(AccessError);
    await policy.readNotebook(opened, { grant: true });
    expect(await policy.saveTarget(opened, 10)).toBe(opened);
    // Reading without a grant (trusting a file, say) does not make it savable.
    await expect(policy.saveTarget(join(elsewhere, 'b.html'), 10)).rejects.toBeInstanceOf(
      AccessError,
    );
    await policy.grantSave(join(elsewhere, 'b.html'));
    expect(await policy.saveTarget(join(elsewhere, 'b.html'), 10)).toBe(join(elsewhere, 'b.html'));
    policy.moved(opened, join(elsewhere, 'c.html'));
    await expect(policy.saveTarget(opened, 10)).rejects.toBeInstanceOf(AccessError);
  });

  it('resolves symlinks: a link in the notebooks folder to a file elsewhere is refused', async () => {
    const { notebooks, elsewhere, policy } = setup();
    symlinkSync(join(elsewhere, 'a.html'), join(notebooks, 'link.html'));
    await expect(policy.saveTarget(join(notebooks, 'link.html'), 10)).rejects.toThrow(
      `${join(elsewhere, 'a.html')}: notebooks are saved only inside the notebooks folder`,
    );
    symlinkSync(elsewhere, join(notebooks, 'dir'));
    await expect(policy.saveTarget(join(notebooks, 'dir', 'new.html'), 10)).rejects.toBeInstanceOf(
      AccessError,
    );
  });

  it('refuses a notebook over the size limit, and a path that is not .html', async () => {
    const { notebooks, policy } = setup();
    mkdirSync(join(notebooks, 'folder.html'));
    await expect(policy.saveTarget(join(notebooks, 'folder.html'), 1)).rejects.toThrow(
      'not a regular file',
    );
    await expect(policy.saveTarget(join(notebooks, 'n.html'), 101)).rejects.toThrow(
      'a notebook is at most 100 bytes',
    );
    await expect(policy.saveTarget(join(notebooks, 'n.txt'), 1)).rejects.toThrow(
      'a notebook is an .html file',
    );
  });
});

describe('WorkspacePolicy.readNotebook', () => {
  it('refuses an .html name whose real file is not .html, and a file over the limit', async () => {
    const { notebooks, policy } = setup();
    writeFileSync(join(notebooks, 'data.csv'), 'a,b');
    symlinkSync(join(notebooks, 'data.csv'), join(notebooks, 'data.html'));
    await expect(policy.readNotebook(join(notebooks, 'data.html'))).rejects.toThrow(
      'which is not an .html file',
    );
    writeFileSync(join(notebooks, 'big.html'), 'x'.repeat(101));
    await expect(policy.readNotebook(join(notebooks, 'big.html'))).rejects.toThrow(
      '101 bytes is over the 100 bytes limit',
    );
  });
});

describe('WorkspacePolicy read roots', () => {
  it("adds an opened notebook's folder, but never one holding the user's home folder", async () => {
    const { root, elsewhere, policy } = setup();
    process.env.HOME = join(root, 'users', 'me');
    mkdirSync(join(root, 'users', 'me'), { recursive: true });
    writeFileSync(join(root, 'users', 'in-users.html'), '<notebook></notebook>');
    writeFileSync(join(root, 'users', 'me', 'in-home.html'), '<notebook></notebook>');
    await policy.readNotebook(join(elsewhere, 'a.html'), { grant: true });
    await policy.readNotebook(join(root, 'users', 'in-users.html'), { grant: true });
    await policy.readNotebook(join(root, 'users', 'me', 'in-home.html'), { grant: true });
    expect(await policy.readRoots()).toEqual([join(root, 'notebooks'), elsewhere]);
  });

  it('checkBase accepts a folder inside a root and refuses one outside', async () => {
    const { notebooks, elsewhere, policy } = setup();
    mkdirSync(join(notebooks, 'sub'));
    await expect(policy.checkBase(join(notebooks, 'sub'))).resolves.toBeUndefined();
    await expect(policy.checkBase(elsewhere)).rejects.toMatchObject({ field: 'base' });
    symlinkSync(elsewhere, join(notebooks, 'out'));
    await expect(policy.checkBase(join(notebooks, 'out'))).rejects.toBeInstanceOf(AccessError);
  });
});

describe('readRegular(path, limit)', () => {
  it('refuses a FIFO without waiting for a writer, and a device without reading it', async () => {
    const { root } = setup();
    const fifo = join(root, 'pipe');
    execFileSync('mkfifo', [fifo]);
    await expect(readRegular(fifo, 1000)).rejects.toThrow('not a regular file');
    await expect(readRegular('/dev/zero', 1000)).rejects.toBeInstanceOf(AccessError);
  });

  it('refuses a symlink (the caller resolves paths first) and names a missing file', async () => {
    const { root, elsewhere } = setup();
    symlinkSync(join(elsewhere, 'a.html'), join(root, 'link'));
    await expect(readRegular(join(root, 'link'), 1000)).rejects.toThrow('is a symbolic link');
    const missing = readRegular(join(root, 'missing'), 1000);
    await expect(missing).rejects.toBeInstanceOf(InputError);
    await expect(missing).rejects.toThrow('cannot read: ENOENT');
  });
});
