import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

/** A source change to a bundled library: each pattern must match exactly once. */
interface VendorPatch {
  /** The library files it applies to (absolute paths). */
  file: RegExp;
  /** Pattern and replacement (a string with `$1`, or a function of the match). */
  edits: [pattern: RegExp, replacement: string | ((match: string) => string)][];
}

const PATCHES: VendorPatch[] = [
  {
    // htl (the HTML template tag of Observable Inputs and Notebook Kit) writes a listener
    // such as `oninput=${f}` into the HTML it parses as `oninput=::3`, then swaps it for the
    // function. Parsing that attribute is an inline event handler to Chromium: the CSP refuses
    // it and logs an error (14 on the flagship notebook's knobs). Patched, htl writes the
    // inert `htl-oninput=::3` and sets `element.oninput` from it. Two spellings: 0.3 and 1.x.
    file: /[\\/]htl[\\/](?:src|dist)[\\/]index\.js$/,
    edits: [
      [
        /string \+= (?:"::" \+ j|`::\$\{j\}`);/,
        (placeholder) =>
          `string = string.replace(/(\\s)(on[^\\s"'<>/=]*\\s*=\\s*)$/i, "$1htl-$2"); ${placeholder}`,
      ],
      [/(element|node)\[name\] = value;/, '$1[name.replace(/^htl-/, "")] = value;'],
    ],
  },
  {
    // Inputs.range labels its number field only; the slider beside it had no accessible name.
    file: /[\\/]@observablehq[\\/]inputs[\\/]dist[\\/]index\.js$/,
    edits: [
      [
        /name=range oninput=\$\{onrange\}/,
        'name=range aria-label=${(typeof label === "string" ? label : label?.textContent) || null} oninput=${onrange}',
      ],
    ],
  },
];

/**
 * Applies {@link PATCHES} while bundling. A library update that moves the patched code fails
 * the build naming the file, instead of silently bringing the problem back.
 */
export const vendorPatches: Plugin = {
  name: 'vendor-patches',
  setup(pluginBuild) {
    for (const patch of PATCHES) {
      pluginBuild.onLoad({ filter: patch.file }, async (args) => {
        let contents = await readFile(args.path, 'utf8');
        for (const [pattern, replacement] of patch.edits) {
          const found = contents.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
          if (found !== 1)
            throw new Error(
              `${args.path}: ${found} matches of ${pattern} (expected 1); update vendor-patches.ts`,
            );
          // Two calls because String.replace's overloads take a string or a function, not either.
          contents =
            typeof replacement === 'string'
              ? contents.replace(pattern, replacement)
              : contents.replace(pattern, replacement);
        }
        return { contents, loader: 'js' };
      });
    }
  },
};
