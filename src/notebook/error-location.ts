// Browser-safe: where in a cell's own source an error happened (syntax and runtime errors).

/** A place in a cell's source: 1-based line and column. */
export interface SourceLocation {
  /** Line, from 1. */
  line: number;
  /** Column, from 1. */
  column: number;
}

/** The name compiled cell code carries in stack traces (`//# sourceURL=`). */
export function cellSourceUrl(id: number): string {
  return `finemed-cell-${id}.js`;
}

const located = new WeakMap<object, SourceLocation>();

/**
 * Acorn's syntax error (`Unexpected token (2:13)`, 0-based column) as a located error whose
 * message counts columns from 1, as editors do: `Unexpected token (2:14)`.
 */
export function locateSyntaxError(error: unknown): unknown {
  const loc = (error as { loc?: { line?: unknown; column?: unknown } } | null)?.loc;
  if (!(error instanceof SyntaxError) || typeof loc?.line !== 'number') return error;
  if (typeof loc.column !== 'number') return error;
  const at = { line: loc.line, column: loc.column + 1 };
  error.message = `${error.message.replace(/\s*\(\d+:\d+\)$/, '')} (${at.line}:${at.column})`;
  located.set(error, at);
  return error;
}

/** The number of lines `new Function` puts before its body (V8: `function anonymous(\n) {`). */
let headerLines: number | undefined;

function functionHeaderLines(): number {
  if (headerLines !== undefined) return headerLines;
  try {
    new Function(`throw new Error('probe');\n//# sourceURL=finemed-probe.js`)();
  } catch (error) {
    const line = /finemed-probe\.js:(\d+):\d+/.exec(String((error as Error).stack))?.[1];
    headerLines = line === undefined ? -1 : Number(line) - 1;
  }
  return headerLines ?? -1;
}

/**
 * Where a runtime error thrown by a cell's code happened in the cell's source: the first stack
 * frame in the compiled cell, mapped back through `body` (the transpiled function, compiled as
 * `return (BODY);`). Notebook Kit wraps the trimmed source in a function header (and `return (`
 * for expressions); when the source appears in the body unchanged the mapping is exact, and
 * otherwise (rewritten imports) no location is given.
 */
function locateRuntimeError(
  error: unknown,
  id: number,
  body: string,
  source: string,
): SourceLocation | undefined {
  const stack = (error as { stack?: unknown } | null)?.stack;
  const trimmed = source.trim();
  const inBody = body.indexOf(trimmed);
  if (typeof stack !== 'string' || trimmed === '' || inBody < 0) return undefined;
  const url = cellSourceUrl(id).replace(/\./g, '\\.');
  const frame = new RegExp(`${url}:(\\d+):(\\d+)`).exec(stack);
  const header = functionHeaderLines();
  if (!frame || header < 0) return undefined;
  const start = (text: string, at: number): SourceLocation => {
    const before = text.slice(0, at).split('\n');
    return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
  };
  const inCode = { line: Number(frame[1]) - header, column: Number(frame[2]) };
  const bodyStart = start(body, inBody);
  const sourceStart = start(source, source.indexOf(trimmed));
  const line = inCode.line - bodyStart.line + sourceStart.line;
  if (line < sourceStart.line || line > source.split('\n').length) return undefined;
  const column =
    inCode.line === bodyStart.line
      ? inCode.column - bodyStart.column + sourceStart.column
      : inCode.column;
  return column >= 1 ? { line, column } : undefined;
}

/** Remembers where a cell's runtime error happened, if that can be known exactly. */
export function recordErrorLocation(
  error: unknown,
  id: number,
  body: string,
  source: string,
): void {
  if (!error || typeof error !== 'object' || located.has(error)) return;
  const at = locateRuntimeError(error, id, body, source);
  if (at) located.set(error, at);
}

/** Where an error happened in its cell's source, when known. */
export function errorLocation(error: unknown): SourceLocation | undefined {
  return error && typeof error === 'object' ? located.get(error) : undefined;
}
