import type { Recovery } from '../server/notebooks.ts';
import { h } from './dom.ts';

/** A button of a bar: its label, class, and what it does before the bar goes away. */
type BarAction = [label: string, className: string, act: () => unknown];

/** A notice above the cells with buttons; a button's action runs, then the bar is removed. */
function bar(className: string, message: string, actions: BarAction[]): HTMLElement {
  const element: HTMLElement = h(
    'div',
    { class: `bar ${className}`, role: 'alert' },
    h('span', {}, message),
    ...actions.map(([label, buttonClass, act]) =>
      h(
        'button',
        {
          class: buttonClass,
          onclick: async () => {
            await act();
            element.remove();
          },
        },
        label,
      ),
    ),
  );
  return element;
}

/** The bar over a notebook from outside the project: its code is shown and runs only once trusted. */
export function trustBar(trust: () => Promise<void>): HTMLElement {
  return bar(
    'trust-bar',
    'This notebook comes from outside the project. Its code is shown below and has not run. ' +
      'Run it only if you trust where it came from.',
    [['Trust and run', 'trust-run', trust]],
  );
}

/** The bar offering back unsaved edits kept from an earlier session. */
export function recoveryBar(
  recovery: Recovery,
  fileSha256: string,
  restore: () => void,
  discard: () => Promise<void>,
): HTMLElement {
  const changed = recovery.baseSha256 !== fileSha256 ? ' The file has changed on disk since.' : '';
  return bar(
    'recovery-bar',
    `Unsaved edits from ${new Date(recovery.savedAt).toLocaleString()} were kept.${changed}`,
    [
      ['Restore', 'recovery-restore', restore],
      ['Discard', 'recovery-discard', discard],
    ],
  );
}
