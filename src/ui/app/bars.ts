import { formatDuration } from '../../core/progress.ts';
import type { RunAllCost } from '../../notebook/index.ts';
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

/**
 * The bar Run all shows before starting costly jobs: what it will start and about how long it
 * takes. `answer` resolves true for "Run all", false for "Cancel"; either removes the bar.
 */
export function runAllBar(cost: RunAllCost): { element: HTMLElement; answer: Promise<boolean> } {
  const jobs = cost.stale.map((j) => j.job);
  const count = `${jobs.length} job${jobs.length === 1 ? '' : 's'}`;
  const then = cost.waiting.length
    ? `, then ${cost.waiting.length} waiting on them (${cost.waiting.map((j) => j.job).join(', ')})`
    : '';
  const message =
    `Run all will start ${count}, about ${formatDuration(cost.seconds)}: ${jobs.join(', ')}` +
    `${then}.`;
  let element!: HTMLElement;
  const answer = new Promise<boolean>((resolve) => {
    element = bar('run-all-bar', message, [
      ['Run all', 'run-all-confirm', () => resolve(true)],
      ['Cancel', 'run-all-cancel', () => resolve(false)],
    ]);
  });
  return { element, answer };
}
