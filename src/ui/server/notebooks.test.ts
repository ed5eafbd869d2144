import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { AccessError, InputError } from '../../core/errors.ts';
import { sha256 } from '../../core/hash.ts';
import { parseNotebook } from '../../notebook/notebook-file.ts';
import { NotebookLibrary, notebookPath } from './notebooks.ts';

const notebook = (title: string): string =>
  `<!doctype html>\n<notebook>\n  <title>${title}</title>\n  <script id="1" type="text/markdown">\n    # ${title}\n  </script>\n</notebook>\n`;

function setup(): { root: string; library: NotebookLibrary; project: string; elsewhere: string } {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'finemed-notebooks-')));
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
    const saved = await library.save(path, notebook('Edited'));
    expect(readFileSync(path, 'utf8')).toBe(notebook('Edited'));
    expect(readdirSync(elsewhere)).toEqual(['shared.html']);
    expect(saved).toEqual({ sha256: sha256(notebook('Edited')), trusted: true });
    const reopened = await library.open(path);
    expect(reopened.trusted).toBe(true);
    expect(reopened.recovery).toBeUndefined();
  });

  it('save() of an untrusted notebook’s edits does not trust what it wrote', async () => {
    const { library, elsewhere } = setup();
    const path = join(elsewhere, 'shared.html');
    await library.open(path);
    expect(await library.save(path, notebook('Edited'))).toMatchObject({ trusted: false });
    expect((await library.open(path)).trusted).toBe(false);
  });

  it('save() refuses a new file outside the notebooks folder, and never creates folders', async () => {
    const { library, project, elsewhere } = setup();
    await expect(library.save(join(elsewhere, 'new.html'), notebook('N'))).rejects.toBeInstanceOf(
      AccessError,
    );
    const deep = join(project, 'new-folder', 'x.html');
    await expect(library.save(deep, notebook('N'))).rejects.toThrow(
      'the folder does not exist (a save never creates folders)',
    );
    expect(existsSync(join(project, 'new-folder'))).toBe(false);
    expect(readdirSync(elsewhere)).toEqual(['shared.html']);
    // Inside the notebooks folder a new file is fine.
    expect((await library.save(join(project, 'c.html'), notebook('C'))).trusted).toBe(true);
  });

  it('open() refuses an .html symlink whose real file is not an .html file', async () => {
    const { library, project } = setup();
    symlinkSync('/etc/passwd', join(project, 'passwd.html'));
    const opening = library.open(join(project, 'passwd.html'));
    await expect(opening).rejects.toBeInstanceOf(AccessError);
    await expect(opening).rejects.toThrow('leads to /etc/passwd, which is not an .html file');
    // Nor can it be saved over: the real target is outside and was never opened.
    await expect(library.save(join(project, 'passwd.html'), 'x')).rejects.toBeInstanceOf(
      AccessError,
    );
  });

  it('create(title) writes a new trusted notebook named from the title, never over a file', async () => {
    const { library, project } = setup();
    writeFileSync(join(project, 'ward-round-day-1.html'), notebook('Mine'));
    const created = await library.create('Ward round: day 1');
    expect(created.path).toBe(join(project, 'ward-round-day-1-2.html'));
    expect(created.trusted).toBe(true);
    expect(readFileSync(join(project, 'ward-round-day-1.html'), 'utf8')).toBe(notebook('Mine'));
    const parsed = parseNotebook(readFileSync(created.path, 'utf8'), {
      parser: new new JSDOM('').window.DOMParser(),
    });
    expect(parsed.title).toBe('Ward round: day 1');
    expect(parsed.cells.map((c) => [c.mode, c.value])).toEqual([['md', '# Ward round: day 1']]);
    expect((await library.open(created.path)).trusted).toBe(true);
    expect((await library.create('Ward round: day 1')).path).toBe(
      join(project, 'ward-round-day-1-3.html'),
    );
  });

  it('rename() moves the file in its folder with its recovery and recent entry', async () => {
    const { library, project } = setup();
    const path = join(project, 'a.html');
    await library.open(path);
    await library.saveRecovery(path, notebook('Draft'), sha256(notebook('A')));
    expect(await library.rename(path, 'ward notes')).toEqual({
      path: join(project, 'ward notes.html'),
    });
    expect(existsSync(path)).toBe(false);
    const moved = await library.open(join(project, 'ward notes.html'));
    expect(moved.text).toBe(notebook('A'));
    expect(moved.recovery?.text).toBe(notebook('Draft'));
    expect((await library.recent())[0]).toBe(join(project, 'ward notes.html'));
    expect(await library.recent()).not.toContain(path);
  });

  it('rename() refuses a folder, "..", an existing name, and a file it may not save', async () => {
    const { library, project, elsewhere } = setup();
    const path = join(project, 'a.html');
    await expect(library.rename(path, '../x')).rejects.toMatchObject({ field: 'name' });
    await expect(library.rename(path, 'sub/x')).rejects.toMatchObject({ field: 'name' });
    await expect(library.rename(path, '..')).rejects.toMatchObject({ field: 'name' });
    await expect(library.rename(path, 'b')).rejects.toThrow('a file with that name exists already');
    expect(readFileSync(join(project, 'b.html'), 'utf8')).toBe(notebook('B'));
    await expect(library.rename(join(elsewhere, 'shared.html'), 'x')).rejects.toBeInstanceOf(
      AccessError,
    );
    expect(readdirSync(project).sort()).toEqual(['a.html', 'b.html', 'notes.txt']);
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
