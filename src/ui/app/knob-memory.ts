import { findKnobs, setKnobDefaults, type Cell } from '../../notebook/index.ts';

/** An Observable Inputs form: its `value` is the knob's value, settable. */
type KnobForm = HTMLFormElement & { value: unknown };

/**
 * Remembers the values of a notebook's knobs (`view(Inputs...)` cells) in the browser
 * session, so Restart and a page reload keep what the user set. Values are keyed by
 * notebook path, cell id and a hash of the cell's source: an edited knob cell starts from
 * its new default.
 */
export class KnobMemory {
  private readonly restored = new WeakSet<HTMLFormElement>();
  private readonly knobCount = new Map<string, number>();

  constructor(
    /** Where values live; sessionStorage in the app. */
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'>,
    /** The notebook's path now (Save as changes it). */
    private readonly path: () => string,
  ) {}

  /** How many knobs a cell's source has (cached: it is asked on every value a cell yields). */
  count(cell: Cell): number {
    if (cell.mode !== 'js' && cell.mode !== 'ts') return 0;
    let count = this.knobCount.get(cell.value);
    if (count === undefined) {
      count = findKnobs(cell.value).length;
      this.knobCount.set(cell.value, count);
    }
    return count;
  }

  /**
   * `cells` with each knob's current value (in `rootOf(cell id)`, its output) written into
   * its cell's source as the default. A cell whose knobs are not all rendered (an error, a
   * condition) is left alone: which value belongs to which knob is unknown.
   */
  withCurrentDefaults(cells: readonly Cell[], rootOf: (id: number) => Element): Cell[] {
    return cells.map((cell) => {
      const count = this.count(cell);
      if (count === 0) return cell;
      const values = knobForms(rootOf(cell.id)).map((form) => form.value);
      if (values.length !== count) return cell;
      const value = setKnobDefaults(
        cell.value,
        values.map((v) => (isPlain(v) ? v : undefined)),
      );
      return value === cell.value ? cell : { ...cell, value };
    });
  }

  /** Keeps the values of the knobs in `root` (call on every `input` event). */
  remember(cell: Cell, root: Element): void {
    const forms = knobForms(root);
    if (!forms.length) return;
    const values = forms.map((form) => (isPlain(form.value) ? form.value : null));
    try {
      this.storage.setItem(this.key(cell), JSON.stringify(values));
    } catch {
      // A full or disabled storage only loses the convenience, never the notebook.
    }
  }

  /**
   * Sets each newly rendered knob in `root` to its remembered value and announces it with an
   * `input` event, as if the user had set it, so dependents re-run with it.
   */
  restore(cell: Cell, root: Element): void {
    if (this.count(cell) === 0) return;
    const saved = this.saved(cell);
    knobForms(root).forEach((form, i) => {
      if (this.restored.has(form)) return;
      this.restored.add(form);
      const value = saved?.[i];
      if (value === undefined || value === null) return;
      if (JSON.stringify(value) === JSON.stringify(form.value)) return;
      form.value = value;
      form.dispatchEvent(new Event('input', { bubbles: true }));
    });
  }

  private saved(cell: Cell): unknown[] | undefined {
    try {
      const text = this.storage.getItem(this.key(cell));
      const parsed: unknown = text === null ? undefined : JSON.parse(text);
      return Array.isArray(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  private key(cell: Cell): string {
    return `finemed.knobs:${this.path()}:${cell.id}:${hash(cell.value)}`;
  }
}

/** The Observable Inputs forms in a cell's output (they define a `value` property). */
export function knobForms(root: Element): KnobForm[] {
  return [...root.querySelectorAll('form')].filter(
    (form): form is KnobForm => Object.getOwnPropertyDescriptor(form, 'value') !== undefined,
  );
}

/** Values that survive JSON and can be written back into a cell's source. */
function isPlain(value: unknown): boolean {
  if (value === null || ['string', 'boolean'].includes(typeof value)) return true;
  if (typeof value === 'number') return Number.isFinite(value);
  return Array.isArray(value) && value.every(isPlain);
}

/** FNV-1a of a string, as 8 hex digits: enough to tell a cell's versions apart. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
