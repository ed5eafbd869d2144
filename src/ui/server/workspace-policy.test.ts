// The workspace policy as a client of `finemed serve` meets it: HTTP operations and the kernel
// socket of one workbench server, the way an adversarial tester with the token would try them.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { AccessError } from '../../core/errors.ts';
import { sha256 } from '../../core/hash.ts';
import { runCli } from '../../cli/testing.ts';
import { KernelClient } from '../../kernel/client.ts';
import { testJobs } from '../../kernel/fixtures/test-jobs.ts';
import { webSocketTransport } from '../../kernel/transport.ts';
import { startWorkbenchServer, type WorkbenchServer } from './workbench.ts';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'finemed-policy-')));
const notebooks = join(root, 'notebooks');
const home = join(root, 'home');
const elsewhere = join(root, 'downloads');
const data = join(root, 'data');
for (const dir of [notebooks, home, elsewhere, data]) mkdirSync(dir);
const notebook = (title: string, code = '1 + 1'): string =>
  `<!doctype html>\n<notebook>\n  <title>${title}</title>\n  <script id="1" type="module">\n    ${code}\n  </script>\n</notebook>\n`;
writeFileSync(join(elsewhere, 'shared.html'), notebook('Shared'));
writeFileSync(join(data, 'bench.jsonl'), '{}\n');
symlinkSync('/etc/passwd', join(notebooks, 'passwd.html'));

let server: WorkbenchServer;
beforeAll(async () => {
  server = await startWorkbenchServer({
    port: 0,
    notebooksDir: notebooks,
    home,
    allowRead: [data],
    jobs: testJobs,
  });
});
afterAll(async () => {
  await server.close();
});

/** An operation's JSON answer: its value, or its error. */
interface Answer {
  // Each test reads the fields of the operation it called.
  value?: Record<string, unknown> & { trusted?: boolean; path?: string };
  error?: { name: string; message: string };
}

/** Calls a host operation as the app's own page does; returns the status and the JSON body. */
async function call(op: string, payload: unknown): Promise<{ status: number; body: Answer }> {
  const origin = `http://127.0.0.1:${server.port}`;
  const res = await fetch(`${origin}/api/${op}?token=${server.token}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: origin },
    body: JSON.stringify(payload),
  });
  return { status: res.status, body: (await res.json()) as Answer };
}

function kernelClient(): KernelClient {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/kernel?token=${server.token}`);
  return new KernelClient(webSocketTransport(ws as never));
}

const trustedHashes = (): string[] =>
  existsSync(join(home, 'trust.json'))
    ? JSON.parse(readFileSync(join(home, 'trust.json'), 'utf8'))
    : [];

describe('notebook.save under the workspace policy', () => {
  it('refuses a path outside the notebooks folder with 403 and the reason; nothing is created', async () => {
    const evil = join(root, 'any', 'dir', 'evil.html');
    const answer = await call('notebook.save', { path: evil, text: notebook('Evil') });
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ name: 'AccessError' });
    expect(answer.body.error?.message).toContain('a save never creates folders');
    expect(existsSync(join(root, 'any'))).toBe(false);
    const sibling = await call('notebook.save', {
      path: join(elsewhere, 'evil.html'),
      text: notebook('Evil'),
    });
    expect(sibling.status).toBe(403);
    expect(sibling.body.error?.message).toContain('saved only inside the notebooks folder');
    expect(existsSync(join(elsewhere, 'evil.html'))).toBe(false);
  });

  it('rejects `trusted` in a request (400 naming the field) and trusts nothing', async () => {
    const text = notebook('Claims trust', 'alert(1)');
    const answer = await call('notebook.save', {
      path: join(notebooks, 'claims.html'),
      text,
      trusted: true,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.message).toBe('trusted: notebook.save: Unrecognized key: "trusted"');
    expect(existsSync(join(notebooks, 'claims.html'))).toBe(false);
    expect(trustedHashes()).not.toContain(sha256(text));
  });

  it('a notebook saved by a client that never trusted it still needs `finemed run --trust`', async () => {
    const path = join(notebooks, 'untrusted.html');
    const saved = await call('notebook.save', { path, text: notebook('U', 'const x = 1;') });
    expect(saved).toMatchObject({ status: 200, body: { value: { trusted: false } } });
    const run = await runCli(['run', path, '--out', join(root, 'run-out')], {
      FINEMED_HOME: home,
    });
    expect(run.code).toBe(1);
    expect(run.err).toContain('this notebook is not trusted');
    expect(existsSync(join(root, 'run-out'))).toBe(false);
  });

  it('saves over a notebook opened from elsewhere, and its edits stay trusted once trusted', async () => {
    const path = join(elsewhere, 'shared.html');
    const opened = await call('notebook.open', { path });
    expect(opened.body.value).toMatchObject({ path, trusted: false });
    const untrustedEdit = await call('notebook.save', { path, text: notebook('Edit 1') });
    expect(untrustedEdit.body.value?.trusted).toBe(false);
    const trust = await call('notebook.trust', { path, sha256: sha256(notebook('Edit 1')) });
    expect(trust.status).toBe(200);
    const edited = await call('notebook.save', { path, text: notebook('Edit 2') });
    expect(edited).toMatchObject({ status: 200, body: { value: { trusted: true } } });
    expect((await call('notebook.open', { path })).body.value?.trusted).toBe(true);
    // Save-as beside it is still outside the notebooks folder.
    const saveAs = await call('notebook.save', {
      path: join(elsewhere, 'copy.html'),
      text: notebook('Edit 2'),
    });
    expect(saveAs.status).toBe(403);
  });
});

describe('notebook.open under the workspace policy', () => {
  it('refuses an .html symlink to /etc/passwd (403, no content)', async () => {
    const answer = await call('notebook.open', { path: join(notebooks, 'passwd.html') });
    expect(answer.status).toBe(403);
    expect(answer.body.error?.message).toContain('not an .html file');
    expect(JSON.stringify(answer.body)).not.toContain('root:');
  });
});

describe('notebook.create and notebook.rename', () => {
  it('create makes a trusted notebook in the notebooks folder; rename moves it', async () => {
    const created = await call('notebook.create', { title: 'Sepsis bundle' });
    expect(created.status).toBe(200);
    expect(created.body.value).toMatchObject({
      path: join(notebooks, 'sepsis-bundle.html'),
      trusted: true,
    });
    expect(readFileSync(join(notebooks, 'sepsis-bundle.html'), 'utf8')).toContain(
      '<title>Sepsis bundle</title>',
    );
    const renamed = await call('notebook.rename', {
      path: join(notebooks, 'sepsis-bundle.html'),
      name: 'sepsis',
    });
    expect(renamed).toMatchObject({
      status: 200,
      body: { value: { path: join(notebooks, 'sepsis.html') } },
    });
    expect(existsSync(join(notebooks, 'sepsis-bundle.html'))).toBe(false);
  });

  it('rename refuses bad names (400) and files the policy does not let you save (403)', async () => {
    await call('notebook.create', { title: 'Triage' });
    const path = join(notebooks, 'triage.html');
    for (const name of ['../escape', 'sub/dir', '..', '']) {
      const answer = await call('notebook.rename', { path, name });
      expect(answer.status, name).toBe(400);
    }
    const outside = await call('notebook.rename', {
      path: join(data, 'x.html'),
      name: 'y',
    });
    expect(outside.status).toBe(403);
    await call('notebook.create', { title: 'Other' });
    const taken = await call('notebook.rename', { path, name: 'other.html' });
    expect(taken.status).toBe(400);
    expect(taken.body.error?.message).toContain('a file with that name exists already');
    expect(existsSync(path)).toBe(true);
  });
});

describe('the kernel socket under the workspace policy', () => {
  it('refuses /etc/passwd and /dev/zero with AccessError; reads --allow-read folders', async () => {
    const client = kernelClient();
    try {
      await expect(client.file('/etc/passwd')).rejects.toBeInstanceOf(AccessError);
      await expect(client.file('/dev/zero')).rejects.toMatchObject({ name: 'AccessError' });
      await expect(client.file('zero', '/dev')).rejects.toMatchObject({ field: 'base' });
      expect((await client.file(join(data, 'bench.jsonl'))).text).toBe('{}\n');
    } finally {
      client.close();
    }
  });

  it('reads a file beside a notebook once the user opened it through the app', async () => {
    const study = join(root, 'study');
    mkdirSync(study);
    writeFileSync(join(study, 'study.html'), notebook('Study'));
    writeFileSync(join(study, 'cohort.csv'), 'n\n3\n');
    const client = kernelClient();
    try {
      await expect(client.file('cohort.csv', study)).rejects.toMatchObject({ field: 'base' });
      await expect(client.file(join(study, 'cohort.csv'))).rejects.toBeInstanceOf(AccessError);
      expect((await call('notebook.open', { path: join(study, 'study.html') })).status).toBe(200);
      expect((await client.file('cohort.csv', study)).text).toBe('n\n3\n');
    } finally {
      client.close();
    }
  });
});
