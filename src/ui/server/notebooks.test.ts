import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { sha256 } from '../../core/hash.ts';
import { NotebookLibrary, notebookPath } from './notebooks.ts';

const notebook = (title: string): string =>
  `<!doctype html>\n<notebook>\n  <title>${title}</title>\n  <script id="1" type="text/markdown">\n    # ${title}\n  </script>\n</notebook>\n`;

function setup(): { root: string; library: NotebookLibrary; project: string; elsewhere: string } {
  const root = mkdtempSync(join(tmpdir(), 'finemed-notebooks-'));
  const project = join(root, 'project');
  const elsewhere = join(root, 'downloads');
  mkdirSync(project);
  mkdirSync(elsewhere);
  writeFileSync(join(project, 'b.html'), notebook('B'));
  writeFileSync(join(project, 'a.html'), notebook('A'));
  writeFileSync(join(project, 'notes.txt'), 'not a notebook');
  writeFileSync(join(elsewhere, 'shared.html'), notebook('Shared'));
  const library = new NotebookLibrary({
    home: join(root, 'home'),
    listDir: project,
    trustedDirs: [project],
  });
  return { root, library, project, elsewhere };
}

describe('NotebookLibrary', () => {
  it('list() shows the folder’s .html files, then recent files from elsewhere', async () => {
    const { library, project, elsewhere } = setup();
    expect((await library.list()).map((e) => e.name)).toEqual(['a.html', 'b.html']);
    await library.open(join(elsewhere, 'shared.html'));
    const entries = await library.list();
    expect(entries.map((e) => [e.name, e.source])).toEqual([
      ['a.html', 'project'],
      ['b.html', 'project'],
      ['shared.html', 'recent'],
    ]);
    expect(entries[0].path).toBe(join(project, 'a.html'));
  });

  it('open() trusts the trusted folder, not a file from elsewhere until trust()', async () => {
    const { library, project, elsewhere } = setup();
    expect((await library.open(join(project, 'a.html'))).trusted).toBe(true);
    const shared = await library.open(join(elsewhere, 'shared.html'));
    expect(shared.trusted).toBe(false);
    expect(shared.sha256).toBe(sha256(notebook('Shared')));
    await library.trust(shared.path, shared.sha256);
    expect((await library.open(shared.path)).trusted).toBe(true);
    // Someone else changes the file: trust follows the text, so it is untrusted again.
    writeFileSync(shared.path, notebook('Changed'));
    expect((await library.open(shared.path)).trusted).toBe(false);
  });

  it('trust() refuses a hash that is no longer the file’s text', async () => {
    const { library, elsewhere } = setup();
    const path = join(elsewhere, 'shared.html');
    const opened = await library.open(path);
    writeFileSync(path, notebook('Swapped after opening'));
    await expect(library.trust(path, opened.sha256)).rejects.toThrow(
      'the file changed on disk since it was opened',
    );
    expect((await library.open(path)).trusted).toBe(false);
  });

  it('save() writes atomically, keeps the user’s own edits trusted and clears recovery', async () => {
    const { library, elsewhere } = setup();
    const path = join(elsewhere, 'shared.html');
    const opened = await library.open(path);
    await library.trust(path, opened.sha256);
    await library.saveRecovery(path, notebook('Draft'), opened.sha256);
    expect((await library.open(path)).recovery?.text).toBe(notebook('Draft'));
    const saved = await library.save(path, notebook('Edited'), { trusted: true });
    expect(readFileSync(path, 'utf8')).toBe(notebook('Edited'));
    expect(readdirSync(elsewhere)).toEqual(['shared.html']);
    expect(saved.sha256).toBe(sha256(notebook('Edited')));
    const reopened = await library.open(path);
    expect(reopened.trusted).toBe(true);
    expect(reopened.recovery).toBeUndefined();
  });

  it('save({ trusted: false }) does not trust what it wrote', async () => {
    const { library, elsewhere } = setup();
    const path = join(elsewhere, 'new.html');
    await library.save(path, notebook('New'), { trusted: false });
    expect((await library.open(path)).trusted).toBe(false);
  });

  it('saveRecovery() keeps unsaved edits across library instances (a restarted app)', async () => {
    const { root, library, project } = setup();
    const path = join(project, 'a.html');
    await library.saveRecovery(path, notebook('Unsaved'), sha256(notebook('A')));
    const again = new NotebookLibrary({ home: join(root, 'home'), listDir: project });
    const opened = await again.open(path);
    expect(opened.text).toBe(notebook('A'));
    expect(opened.recovery).toMatchObject({
      text: notebook('Unsaved'),
      baseSha256: sha256(notebook('A')),
    });
    await again.discardRecovery(path);
    expect((await again.open(path)).recovery).toBeUndefined();
  });

  it('open() of a missing file is an InputError naming the file', async () => {
    const { library, project } = setup();
    const missing = join(project, 'missing.html');
    await expect(library.open(missing)).rejects.toThrow(InputError);
    await expect(library.open(missing)).rejects.toThrow(`${missing}: cannot open: ENOENT`);
  });
});

describe('notebookPath(path)', () => {
  it('accepts .html files and rejects anything else', () => {
    expect(notebookPath('/tmp/x.html')).toBe('/tmp/x.html');
    expect(() => notebookPath('/etc/passwd')).toThrow(/a notebook is an \.html file/);
    expect(() => notebookPath('')).toThrow(/a notebook path is required/);
  });
});
