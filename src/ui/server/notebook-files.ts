// The file-level halves of "New notebook" and "Rename": a file name from a title or from the
// user, a new notebook's text, and writes that never replace an existing file.
import { link, rename, rm, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { toCell, toNotebook } from '@observablehq/notebook-kit';
import { JSDOM } from 'jsdom';
import { tempPathFor, writeFileAtomic } from '../../core/atomic.ts';
import { InputError } from '../../core/errors.ts';
import { formatNotebook } from '../../notebook/notebook-file.ts';

/** How many numbered names (`title-2.html`...) a new notebook tries before giving up. */
const MAX_SUFFIX = 999;

/** A file name stem from a title: lower-case letters and digits joined by `-`, or `notebook`. */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  return [...slug].slice(0, 60).join('').replace(/-+$/, '') || 'notebook';
}

/** A new notebook's file text: Notebook Kit format, the title, and one Markdown cell `# title`. */
export function newNotebookText(title: string): string {
  const { document } = new JSDOM('').window;
  const notebook = toNotebook({
    title,
    cells: [toCell({ id: 1, mode: 'md', value: `# ${title}` })],
  });
  return formatNotebook(notebook, { document });
}

/**
 * Checks a name the user typed for a notebook file: one plain file name (no folder, no `..`,
 * not hidden); `.html` is appended when missing.
 */
export function notebookFileName(name: string): string {
  const fail = (reason: string): never => {
    throw new InputError(reason, { field: 'name' });
  };
  if (name.trim() === '') fail('a name is required');
  if (/[/\\]/.test(name)) fail('a name cannot contain / or \\ (a rename stays in its folder)');
  if (name.startsWith('.')) fail('a name cannot start with "." (no "..", no hidden files)');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(name)) fail('a name cannot contain control characters');
  const file = extname(name) === '.html' ? name : `${name}.html`;
  if (Buffer.byteLength(file) > 255) fail('a name is at most 255 bytes');
  return file;
}

/**
 * Writes a new file named `stem.html` in `dir`, or `stem-2.html`, `stem-3.html`... when taken;
 * never replaces a file, even one created meanwhile. Returns its path.
 */
export async function writeNewFile(dir: string, stem: string, text: string): Promise<string> {
  const tmp = tempPathFor(join(dir, `${stem}.html`));
  await writeFileAtomic(tmp, text);
  try {
    for (let n = 1; n <= MAX_SUFFIX; n++) {
      const path = join(dir, n === 1 ? `${stem}.html` : `${stem}-${n}.html`);
      if (await linkNew(tmp, path)) return path;
    }
  } finally {
    await rm(tmp, { force: true });
  }
  throw new InputError(`${MAX_SUFFIX} notebooks named like this exist already`, { file: dir });
}

/** Renames `from` to `to`, refusing when `to` exists (a plain rename would replace it). */
export async function renameNew(from: string, to: string): Promise<void> {
  if (!(await linkNew(from, to))) {
    throw new InputError('a file with that name exists already', { file: to, field: 'name' });
  }
  // Gone already when hard links were unsupported and the file was renamed instead.
  await rm(from, { force: true });
}

/**
 * Gives `from` the extra name `to` unless `to` exists: a hard link is created atomically or not
 * at all. Where hard links are unsupported, checks, then renames (a small race, no data loss
 * for `from`). False when `to` exists.
 */
async function linkNew(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
  }
  if (
    await stat(to).then(
      () => true,
      () => false,
    )
  )
    return false;
  await rename(from, to);
  return true;
}
