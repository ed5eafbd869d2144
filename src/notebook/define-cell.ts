// Browser-safe: puts one transpiled cell onto an Observable runtime module.
import { clear, display, inspectError, library } from '@observablehq/notebook-kit/runtime';
import type { DefineState } from '@observablehq/notebook-kit/runtime';
import type { Module, Observer, Variable } from '@observablehq/runtime';
import { isTable, renderJobState, renderTable } from './render.ts';
import { errorLocation } from './error-location.ts';
import { isJobState } from './job-run.ts';

/** A cell ready to define: Notebook Kit's transpiled form with its body as a function. */
export interface CellDefinition {
  /** The cell id. */
  id: number;
  /** The cell's function; its parameters are `inputs`, in order. */
  body: (...inputs: unknown[]) => unknown;
  /** Free names the body reads. */
  inputs: string[];
  /** Names the cell declares (its body returns them as an object). */
  outputs: string[];
  /** The single name of an expression cell's value, if it has one. */
  output?: string;
  /** Whether the cell's value is displayed. */
  autodisplay: boolean;
  /** The transpiled function's text, for locating runtime errors in the source. */
  code?: string;
}

/** What a defined cell reports to its session. `name` is null for the cell's own value. */
export interface CellHooks {
  /** A variable of the cell started computing (`name` null: the cell itself re-ran). */
  pending(name: string | null): void;
  /** A variable of the cell has a value (generators report every value). */
  fulfilled(name: string | null, value: unknown): void;
  /**
   * A variable of the cell failed; returns whether the output shows the error (only the cell
   * whose own code failed does: waiting, cancelled and upstream failures keep the old output).
   */
  rejected(name: string | null, error: unknown): boolean;
}

/** The state Notebook Kit's display functions keep per cell, plus the cell's variables. */
export type CellDisplay = DefineState;

const TYPE_IMPLICIT = 2;
const { input } = library.Generators() as { input: (element: unknown) => unknown };

/**
 * Defines `def` on `main`, as Notebook Kit's `define` does (display and view included), with
 * three differences: every variable reports to `hooks`, a job state is displayed as a progress
 * line, and `wb` resolves to `wb` (this cell's own workbench) through a shadow variable.
 * Returns the function that removes the cell again (before a redefinition).
 */
export function defineCell(
  main: Module,
  state: CellDisplay,
  def: CellDefinition,
  hooks: CellHooks,
  wb: () => unknown,
): () => void {
  const { id, body, inputs, outputs, output, autodisplay } = def;
  // Deleting a variable recomputes it once as a no-op; a removed cell's observers must ignore that.
  const live = { current: true };
  hooks = guard(hooks, live);
  const show = (value: unknown): void =>
    isJobState(value)
      ? appendNode(state, renderJobState(value, document))
      : isTable(value)
        ? appendNode(state, renderTable(value, document))
        : display(state, value, output);
  const shown = { error: false, live, outputs };
  const v = main.variable(cellObserver(state, hooks, null, autodisplay, show, shown), {
    shadow: {},
  });
  const shadow = v._shadow as Map<string, Variable>;
  const implicit = (): Variable => new (v.constructor as typeof Variable)(TYPE_IMPLICIT, v._module);
  const name = output ?? (outputs.length ? `cell ${id}` : null);
  state.autoclear = true;
  if (inputs.includes('wb')) shadow.set('wb', implicit().define([], wb));
  if (inputs.includes('display') || inputs.includes('view')) {
    let displayVersion = -1;
    const vd = implicit().define(
      inputs.filter((i) => i !== 'display' && i !== 'view' && i !== 'wb'),
      () => {
        const version = v._version;
        return (value: unknown) => {
          if (version < displayVersion || state.variables[0] !== v)
            throw new Error('stale display');
          if (version > displayVersion) clear(state);
          displayVersion = version;
          show(value);
          return value;
        };
      },
    );
    shadow.set('display', vd);
    if (inputs.includes('view')) {
      const vv = new (v.constructor as typeof Variable)(TYPE_IMPLICIT, v._module, null, {
        shadow: {},
      });
      (vv._shadow as Map<string, Variable>).set('display', vd);
      vv.define(
        ['display'],
        (show: (value: unknown) => unknown) => (value: unknown) => input(show(value)),
      );
      shadow.set('view', vv);
    }
  } else if (!autodisplay) {
    clear(state);
  }
  state.variables.push(v.define(name, inputs, body));
  for (const o of outputs) {
    const observer = cellObserver(state, hooks, o, false, show, shown);
    state.variables.push(
      main
        .variable(observer)
        .define(o, [name as string], (exports: Record<string, unknown>) => exports[o]),
    );
  }
  return () => {
    live.current = false;
    for (const variable of state.variables.splice(0)) variable.delete();
  };
}

function guard(hooks: CellHooks, live: { current: boolean }): CellHooks {
  return {
    pending: (name) => live.current && hooks.pending(name),
    fulfilled: (name, value) => live.current && hooks.fulfilled(name, value),
    rejected: (name, error) => live.current && hooks.rejected(name, error),
  };
}

function cellObserver(
  state: CellDisplay,
  hooks: CellHooks,
  name: string | null,
  autodisplay: boolean,
  show: (value: unknown) => void,
  shown: { error: boolean; live: { current: boolean }; outputs: readonly string[] },
): Observer {
  return {
    _node: state.root,
    pending() {
      if (!shown.live.current) return;
      if (name === null && shown.error) {
        shown.error = false;
        clear(state);
      }
      hooks.pending(name);
    },
    fulfilled(value) {
      if (!shown.live.current) return;
      if (name === null) {
        if (autodisplay) {
          clear(state);
          show(value);
        } else if (state.autoclear) {
          clear(state);
        }
      } else {
        showDeclaredJob(state, name, value, shown.outputs);
      }
      hooks.fulfilled(name, value);
    },
    rejected(error) {
      if (!shown.live.current) return;
      if (!hooks.rejected(name, error)) return;
      // Outputs fail too when the cell fails; only an output's own failure (a generator that
      // threw) needs showing besides the cell's.
      if (name === null) clear(state);
      if (name === null || !shown.error) appendNode(state, located(error, name));
      shown.error = true;
    },
  };
}

/**
 * A declared job (`const sft = wb.sft(...)`) shows its progress line, unlike other declarations;
 * the lines of a cell's jobs stand in declaration order, whichever reports first.
 */
function showDeclaredJob(
  state: CellDisplay,
  name: string,
  value: unknown,
  outputs: readonly string[],
): void {
  const lines = [...state.root.children].filter((e) => e.hasAttribute('data-job-output'));
  const old = lines.find((e) => e.getAttribute('data-job-output') === name);
  if (!isJobState(value)) return old?.remove();
  const line = renderJobState(value, document);
  line.setAttribute('data-job-output', name);
  const rank = (e: Element): number => outputs.indexOf(e.getAttribute('data-job-output')!);
  const next = lines.find((e) => rank(e) > outputs.indexOf(name));
  if (old) old.replaceWith(line);
  else if (next) next.before(line);
  else appendNode(state, line);
}

/** The inspector's error view, with the place in the source (the inspector drops acorn's). */
function located(error: unknown, name: string | null): Node {
  const node = inspectError(error, name ?? undefined);
  const at = errorLocation(error);
  if (at) node.querySelector('.observablehq--inspect')?.append(` (${at.line}:${at.column})`);
  return node;
}

function appendNode(state: CellDisplay, node: Node): void {
  state.root.appendChild(node);
}
