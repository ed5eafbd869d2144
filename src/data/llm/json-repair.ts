/**
 * Parses the JSON object in an LLM reply that may not be clean JSON: strips Markdown code
 * fences, takes the first balanced `{...}` (so prose before or after is ignored), removes
 * trailing commas, and maps Python literals (`True`, `False`, `None`) outside strings.
 * Returns undefined when no object can be recovered.
 */
export function parseJsonObject(reply: string): Record<string, unknown> | undefined {
  const unfenced = reply.replace(/```(?:json|JSON)?/g, '');
  const start = unfenced.indexOf('{');
  if (start < 0) return undefined;
  const body = firstBalancedObject(unfenced, start);
  if (body === undefined) return undefined;
  const cleaned = rewriteOutsideStrings(body, (chunk) =>
    chunk
      .replace(/,\s*([}\]])/g, '$1')
      .replace(/\bTrue\b/g, 'true')
      .replace(/\bFalse\b/g, 'false')
      .replace(/\bNone\b/g, 'null'),
  );
  try {
    const value = JSON.parse(cleaned) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The text from `start` (a `{`) to its matching `}`, respecting strings and escapes. */
function firstBalancedObject(text: string, start: number): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  return undefined;
}

/** Applies `fix` to the parts of `json` outside string literals. */
function rewriteOutsideStrings(json: string, fix: (chunk: string) => string): string {
  let out = '';
  let chunk = '';
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (ch !== '"') {
      chunk += ch;
      continue;
    }
    out += fix(chunk);
    chunk = '';
    let j = i + 1;
    while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
    out += json.slice(i, j + 1);
    i = j;
  }
  return out + fix(chunk);
}
