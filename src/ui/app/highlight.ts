// @lezer/highlight comes with @codemirror/language (a dependency of it, always installed with it).
import { HighlightStyle } from '@codemirror/language';
import { tags } from '@lezer/highlight';

/**
 * Syntax colors from the palette's `--syntax-*` variables (styles.css), so code stays readable
 * in the dark theme; CodeMirror's default style has fixed colors for a white page.
 */
export const themeHighlightStyle = HighlightStyle.define([
  {
    tag: [tags.keyword, tags.operatorKeyword, tags.modifier, tags.null],
    color: 'var(--syntax-keyword)',
  },
  {
    tag: [tags.definition(tags.variableName), tags.function(tags.variableName), tags.propertyName],
    color: 'var(--syntax-definition)',
  },
  { tag: [tags.number, tags.bool, tags.atom], color: 'var(--syntax-literal)' },
  { tag: [tags.string, tags.special(tags.string), tags.regexp], color: 'var(--syntax-string)' },
  { tag: tags.comment, color: 'var(--syntax-comment)', fontStyle: 'italic' },
  { tag: tags.variableName, color: 'var(--syntax-variable)' },
  { tag: tags.heading, fontWeight: 'bold' },
  { tag: tags.emphasis, fontStyle: 'italic' },
  { tag: tags.strong, fontWeight: 'bold' },
  { tag: tags.link, color: 'var(--accent)', textDecoration: 'underline' },
  { tag: tags.invalid, color: 'var(--error)' },
]);
