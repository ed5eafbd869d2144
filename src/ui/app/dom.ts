/** Attributes and event handlers of {@link h}: `on*` keys are listeners, others attributes. */
export type Props = Record<string, string | number | boolean | EventListener | undefined>;

/** A child of {@link h}: nodes, text, or nothing. */
export type Child = Node | string | number | null | undefined | false | Child[];

/**
 * Creates an element: `h('button', { class: 'run', onclick: run }, 'Run')`. Text children are
 * text nodes, never parsed as HTML, so no value from a notebook can inject markup here.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Appends children (see {@link Child}) to `parent`. */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces all of `parent`'s children. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}
