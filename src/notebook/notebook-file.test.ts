import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { installDom } from './node/dom.ts';
import { cellLabel, formatNotebook, parseNotebook } from './notebook-file.ts';

const dom = installDom();

/** Every notebook file of the project and of these tests: new ones are picked up as they appear. */
function notebookFiles(): string[] {
  const dirs = [join(projectRoot, 'notebooks'), join(import.meta.dirname, 'fixtures')];
  return dirs.flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((name) => name.endsWith('.html'))
          .map((name) => join(dir, name))
      : [],
  );
}

describe('parseNotebook / formatNotebook', () => {
  it('finds the fixture notebooks (and those in notebooks/, when there are any)', () => {
    expect(notebookFiles().length).toBeGreaterThanOrEqual(3);
  });

  it.each(notebookFiles())('round-trips %s byte for byte', (file) => {
    const text = readFileSync(file, 'utf8');
    const notebook = parseNotebook(text, { parser: dom.parser });
    expect(notebook.cells.length).toBeGreaterThan(0);
    expect(formatNotebook(notebook, { document: dom.document })).toBe(text);
  });

  it('reads cell modes, ids and sources', () => {
    const notebook = parseNotebook(
      readFileSync(join(import.meta.dirname, 'fixtures', 'small.html'), 'utf8'),
      {
        parser: dom.parser,
      },
    );
    expect(notebook.title).toBe('Ward vitals');
    expect(notebook.cells.map((c) => c.mode)).toEqual(['md', 'js', 'js', 'js', 'js', 'js', 'html']);
    expect(notebook.cells[2].value).toBe(
      '// @tolerance 1e-9\nconst meanPulse = d3.mean(vitals, (d) => d.pulse);\nconst n = vitals.length;',
    );
  });
});

describe('cellLabel(cell)', () => {
  it('names a cell by its first line of code, shortened', () => {
    expect(cellLabel({ id: 3, value: '// @tolerance 1e-9\nconst a = 1;' })).toBe(
      'cell 3 (const a = 1;)',
    );
    expect(cellLabel({ id: 4, value: '' })).toBe('cell 4');
    expect(cellLabel({ id: 5, value: `const x = '${'y'.repeat(80)}';` })).toMatch(
      /^cell 5 \(const x = 'y+\.\.\.\)$/,
    );
  });
});
