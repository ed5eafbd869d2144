// Types for the untyped parts of Observable's runtime that the notebook layer uses.

declare module '@observablehq/runtime' {
  /** A variable's definition: called with its inputs' values. */
  export type VariableDefinition = (...inputs: never[]) => unknown;

  /** Receives a variable's life cycle. */
  export interface Observer {
    pending?(): void;
    fulfilled?(value: unknown, name?: string | null): void;
    rejected?(error: unknown, name?: string | null): void;
    _node?: Element;
  }

  /** A reactive variable of a module. */
  export class Variable {
    constructor(
      type: number,
      module: Module,
      observer?: Observer | boolean | null,
      options?: { shadow?: Record<string, () => unknown> },
    );
    define(name: string | null, inputs: string[], definition: unknown): Variable;
    define(inputs: string[], definition: unknown): Variable;
    delete(): Variable;
    readonly _version: number;
    readonly _module: Module;
    readonly _shadow: Map<string, Variable> | null;
  }

  /** A namespace of variables. */
  export class Module {
    variable(
      observer?: Observer | boolean | null,
      options?: { shadow?: Record<string, () => unknown> },
    ): Variable;
    define(name: string | null, inputs: string[], definition: unknown): Variable;
    value(name: string): Promise<unknown>;
  }

  /** The scheduler that recomputes variables in topological order. */
  export class Runtime {
    constructor(builtins?: Record<string, unknown>, global?: (name: string) => unknown);
    module(): Module;
    dispose(): void;
    readonly _computing: Promise<void> | null;
  }

  /** An error raised by the runtime on behalf of a variable (undefined, circular...). */
  export class RuntimeError extends Error {
    readonly input?: string;
  }
}

declare module '@observablehq/inputs';
