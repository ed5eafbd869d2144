// Rewrites notebook files in Notebook Kit's canonical form (so the round-trip test holds).
import { readFileSync, writeFileSync } from 'node:fs';
import { installDom } from '../../src/notebook/node/dom.ts';
import { formatNotebook, parseNotebook } from '../../src/notebook/notebook-file.ts';

const dom = installDom();
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  const out = formatNotebook(parseNotebook(text, { parser: dom.parser }), {
    document: dom.document,
  });
  writeFileSync(file, out);
  console.log(file, text === out ? 'unchanged' : 'reformatted');
}
