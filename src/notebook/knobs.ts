// Browser-safe: the knobs of a cell (`view(Inputs.range(...))` and friends) and rewriting
// their defaults in the source, so "Save knob values" keeps everything else byte for byte.
import { parseJavaScript } from '@observablehq/notebook-kit';

/** An `Inputs.*(...)` call passed to `view(...)` in a cell's source. */
export interface Knob {
  /** The Inputs function: `range`, `select`, `radio`, `checkbox`, `text`, `number`... */
  kind: string;
  /** Where the `Inputs.*(...)` call starts and ends in the source. */
  start: number;
  end: number;
}

/** The acorn node fields knobs need (Notebook Kit parses with acorn). */
interface Node {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

interface Call extends Node {
  callee: Node & { object?: Node & { name?: string }; property?: Node & { name?: string } };
  arguments: Node[];
}

/** The knobs of a JavaScript cell, in source order; none when the source does not parse. */
export function findKnobs(source: string): Knob[] {
  return inputsCalls(source).map((call) => ({
    kind: call.callee.property!.name!,
    start: call.start,
    end: call.end,
  }));
}

/**
 * Sets each knob's `value:` option to `values[i]` (the knobs in source order; `undefined`
 * leaves that knob alone): an existing `value:` is replaced, else one is added to the
 * options object, or an options object is added. Values must be JSON-like (numbers,
 * strings, booleans, null, arrays of these).
 */
export function setKnobDefaults(source: string, values: readonly unknown[]): string {
  const calls = inputsCalls(source);
  if (values.length > calls.length)
    throw new RangeError(`${values.length} knob values for a cell with ${calls.length} knobs`);
  const edits: { start: number; end: number; text: string }[] = [];
  calls.forEach((call, i) => {
    if (values[i] === undefined) return;
    const text = literal(values[i], `knob ${i + 1} (Inputs.${call.callee.property!.name})`);
    const last = call.arguments[call.arguments.length - 1];
    if (last?.type !== 'ObjectExpression') {
      // No options object: add one after the other arguments, before the closing parenthesis.
      const at = source.lastIndexOf(')', call.end - 1);
      edits.push({ start: at, end: at, text: `${last ? ', ' : ''}{ value: ${text} }` });
      return;
    }
    const properties = last.properties as (Node & { key?: Node; computed?: boolean })[];
    const existing = properties.findLast(
      (p) => p.type === 'Property' && !p.computed && keyName(p.key) === 'value',
    );
    if (existing) {
      const node = existing.value as Node;
      edits.push({ start: node.start, end: node.end, text });
    } else if (properties.length) {
      // After the last property, so a spread before it cannot override the saved value.
      const end = properties[properties.length - 1]!.end;
      edits.push({ start: end, end, text: `, value: ${text}` });
    } else {
      edits.push({ start: last.start, end: last.end, text: `{ value: ${text} }` });
    }
  });
  let out = source;
  for (const edit of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

/** The `Inputs.*(...)` calls that are the first argument of a `view(...)` call. */
function inputsCalls(source: string): Call[] {
  let body: Node;
  try {
    body = parseJavaScript(source).body as unknown as Node;
  } catch (error) {
    if (error instanceof SyntaxError) return [];
    throw error;
  }
  const found: Call[] = [];
  walk(body, (node) => {
    if (node.type !== 'CallExpression') return;
    const call = node as Call;
    const input = call.arguments[0] as Call | undefined;
    if (
      call.callee.type === 'Identifier' &&
      call.callee.name === 'view' &&
      input?.type === 'CallExpression' &&
      input.callee.type === 'MemberExpression' &&
      input.callee.object?.type === 'Identifier' &&
      input.callee.object.name === 'Inputs' &&
      input.callee.property?.type === 'Identifier'
    )
      found.push(input);
  });
  return found.sort((a, b) => a.start - b.start);
}

function walk(node: Node, visit: (node: Node) => void): void {
  visit(node);
  for (const [key, child] of Object.entries(node)) {
    if (key === 'loc') continue;
    for (const item of Array.isArray(child) ? child : [child]) {
      if (item && typeof item === 'object' && typeof (item as Node).type === 'string')
        walk(item as Node, visit);
    }
  }
}

function keyName(key: Node | undefined): string | undefined {
  if (key?.type === 'Identifier') return key.name as string;
  if (key?.type === 'Literal') return String(key.value);
  return undefined;
}

/** `value` as JavaScript source; single-quoted strings, as the notebooks are written. */
function literal(value: unknown, what: string): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${what}: ${value} is not a finite number`);
    return Object.is(value, -0) ? '0' : String(value);
  }
  if (typeof value === 'string') {
    const escaped = JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
    return `'${escaped}'`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, what)).join(', ')}]`;
  throw new TypeError(
    `${what}: cannot write ${JSON.stringify(value) ?? typeof value} into the source`,
  );
}
