import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';
import { markdown } from '@codemirror/lang-markdown';
import { bracketMatching, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics } from '@codemirror/lint';
import { EditorState, type Extension } from '@codemirror/state';
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  keymap,
  lineNumbers,
} from '@codemirror/view';
import { themeHighlightStyle } from './highlight.ts';

/** What a cell editor reports to its cell. */
export interface EditorHooks {
  /** Shift+Enter (or Mod+Enter): commit the text and run the cell. */
  run(text: string): void;
  /** Mod+S: save the notebook. */
  save(): void;
  /** The text changed (typing, not yet committed). */
  changed(text: string): void;
}

/** A CodeMirror 6 editor for one cell. */
export interface CellEditor {
  /** The editor's element. */
  readonly dom: HTMLElement;
  /** The current text. */
  text(): string;
  /** Replaces the text (recovered edits, a reloaded file). */
  setText(text: string): void;
  /** Focuses the editor. */
  focus(): void;
  /** Marks an error at a 1-based line and column of the text (undefined: clears the mark). */
  markError(error: { line: number; column: number; message: string } | undefined): void;
}

/** How a cell mode is called in the editor's accessible name. */
const MODE_NAMES: Record<string, string> = {
  js: 'JavaScript',
  ts: 'TypeScript',
  md: 'Markdown',
  html: 'HTML',
};

/** The syntax a cell mode is highlighted with. */
function language(mode: string): Extension {
  if (mode === 'md') return markdown();
  if (mode === 'js' || mode === 'ts') return javascript({ typescript: mode === 'ts' });
  return [];
}

/** Creates an editor for a cell of `mode` holding `text`. */
export function createCellEditor(mode: string, text: string, hooks: EditorHooks): CellEditor {
  const runKey = (view: EditorView): boolean => {
    hooks.run(view.state.doc.toString());
    return true;
  };
  /** The error last marked (undefined: none), so an unchanged state dispatches nothing. */
  let marked: string | undefined;
  const view = new EditorView({
    state: EditorState.create({
      doc: text,
      extensions: [
        keymap.of([
          { key: 'Shift-Enter', run: runKey },
          { key: 'Mod-Enter', run: runKey },
          {
            key: 'Mod-s',
            run: () => {
              hooks.save();
              return true;
            },
          },
          indentWithTab,
          ...historyKeymap,
          ...defaultKeymap,
        ]),
        history(),
        lineNumbers(),
        lintGutter(),
        drawSelection(),
        highlightActiveLine(),
        indentOnInput(),
        bracketMatching(),
        syntaxHighlighting(themeHighlightStyle),
        language(mode),
        EditorView.lineWrapping,
        // Screen readers name the editor; CodeMirror's content element has no name of its own.
        EditorView.contentAttributes.of({ 'aria-label': `${MODE_NAMES[mode] ?? mode} source` }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) hooks.changed(update.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    dom: view.dom,
    text: () => view.state.doc.toString(),
    setText: (next) => {
      if (next !== view.state.doc.toString())
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: next } });
    },
    focus: () => view.focus(),
    markError: (error) => {
      const { doc } = view.state;
      // Cell states arrive on every progress step: a dispatch to every editor each time kept
      // the page's main thread busy for seconds during training, so only a change dispatches.
      const mark = error && error.line <= doc.lines ? error : undefined;
      const key = mark && JSON.stringify([mark, doc.length]);
      if (key === marked) return;
      marked = key;
      if (!mark) {
        view.dispatch(setDiagnostics(view.state, []));
        return;
      }
      const line = doc.line(mark.line);
      const from = Math.min(line.from + mark.column - 1, line.to);
      // The rest of the word at the column (at least one character), so the mark is visible.
      const word = /^\w+/.exec(doc.sliceString(from, line.to))?.[0].length ?? 1;
      const diagnostic = {
        from,
        to: Math.min(from + word, doc.length),
        severity: 'error' as const,
        message: mark.message,
      };
      view.dispatch(setDiagnostics(view.state, [diagnostic]));
    },
  };
}
