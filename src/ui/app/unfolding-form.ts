import { h, replaceChildren } from './dom.ts';

/** What an {@link unfoldingForm} asks for and does. */
export interface UnfoldingFormOptions {
  /** Class of the slot, for layout (`new-notebook`, `rename-file`). */
  className: string;
  /** The button's label. */
  button: string;
  /** The button's tooltip. */
  title?: string;
  /** The field's accessible name. */
  field: string;
  /** The field's hint while empty. */
  placeholder?: string;
  /** The submit button's label. */
  submit: string;
  /** The field's value each time the form opens. */
  initial(): string;
  /** Acts on the trimmed, non-empty, changed value; the form closes when it resolves. */
  act(value: string): Promise<unknown>;
  /** Opens the error shown when `act` rejects ("Could not rename"). */
  failure: string;
}

/**
 * A button that unfolds into a one-field form in its place (no `window.prompt`, which the
 * desktop app lacks): Enter acts, Escape or Cancel folds it back and focuses the button.
 */
export function unfoldingForm(options: UnfoldingFormOptions): HTMLElement {
  const slot = h('div', { class: `unfolding ${options.className}` });
  const button = h(
    'button',
    { type: 'button', title: options.title, onclick: () => unfold() },
    options.button,
  );
  const input = h('input', {
    type: 'text',
    required: true,
    maxlength: 200,
    'aria-label': options.field,
    placeholder: options.placeholder,
  });
  const error = h('span', { class: 'unfolding-error', role: 'alert', hidden: true });
  const fold = (): void => {
    replaceChildren(slot, button);
    button.focus();
  };
  const form = h(
    'form',
    {
      class: 'unfolding-form',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (!value || value === options.initial()) return fold();
        options.act(value).then(fold, (caught: Error) => {
          error.textContent = `${options.failure}: ${caught.message}`;
          error.hidden = false;
        });
      },
      onkeydown: (event: Event) => {
        if ((event as KeyboardEvent).key === 'Escape') fold();
      },
    },
    input,
    h('button', { type: 'submit' }, options.submit),
    h('button', { type: 'button', onclick: fold }, 'Cancel'),
    error,
  );
  const unfold = (): void => {
    input.value = options.initial();
    error.hidden = true;
    replaceChildren(slot, form);
    input.focus();
    input.select();
  };
  replaceChildren(slot, button);
  return slot;
}
