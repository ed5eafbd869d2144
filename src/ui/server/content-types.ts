const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
};

/** The Content-Type for a renderer file name. */
export function contentType(name: string): string {
  const ext = name.slice(name.lastIndexOf('.'));
  return types[ext] ?? 'application/octet-stream';
}
