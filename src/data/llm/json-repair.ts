import { jsonrepair } from 'jsonrepair';

/**
 * Parses the JSON object in an LLM reply that may not be clean JSON. The first `{...}` is cut
 * out of the prose around it (a reply cut off mid-object keeps everything after its `{`), and
 * `jsonrepair` fixes the rest: code fences, trailing commas, Python literals, unquoted keys,
 * single quotes, missing closing brackets. Returns undefined when no object can be recovered.
 */
export function parseJsonObject(reply: string): Record<string, unknown> | undefined {
  const start = reply.indexOf('{');
  if (start < 0) return undefined;
  const body = firstBalancedObject(reply, start) ?? reply.slice(start);
  try {
    const value = JSON.parse(jsonrepair(body)) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The text from `start` (a `{`) to its matching `}`, skipping braces inside single- or
 * double-quoted strings; undefined when the object never closes.
 */
function firstBalancedObject(text: string, start: number): string | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  return undefined;
}
