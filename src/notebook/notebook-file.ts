// Browser-safe: notebooks on disk are Observable Notebook Kit files (`.html`, one <script> per cell).
import { deserialize, serialize, type Cell, type Notebook } from '@observablehq/notebook-kit';

export type { Cell, CellSpec, Notebook } from '@observablehq/notebook-kit';

/** Cell modes the workbench runs; others are shown but fail with a clear error when run. */
export const SUPPORTED_MODES: ReadonlySet<Cell['mode']> = new Set(['js', 'ts', 'md', 'html']);

/** Parses notebook file text. `parser` is needed where there is no global `DOMParser` (Node). */
export function parseNotebook(text: string, options: { parser?: DOMParser } = {}): Notebook {
  return deserialize(text, options);
}

/** Formats a notebook as file text, exactly as Notebook Kit writes it. */
export function formatNotebook(notebook: Notebook, options: { document?: Document } = {}): string {
  return serialize(notebook, options);
}

/** A short human name for a cell from its first line of code: `cell 3 (const x = load(...))`. */
export function cellLabel(cell: Pick<Cell, 'id' | 'value'>): string {
  const lines = cell.value
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const text = lines.find((line) => !line.startsWith('//')) ?? lines[0] ?? '';
  const short = text.length > 48 ? `${text.slice(0, 45)}...` : text;
  return short ? `cell ${cell.id} (${short})` : `cell ${cell.id}`;
}
