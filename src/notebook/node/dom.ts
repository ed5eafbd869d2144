import { JSDOM } from 'jsdom';

/** A DOM for headless runs, installed as globals so cells and libraries find `document`. */
export interface HeadlessDom {
  /** The jsdom window. */
  window: JSDOM['window'];
  /** `window.document`, where cells render. */
  document: Document;
  /** A parser for notebook files. */
  parser: DOMParser;
}

let installed: HeadlessDom | undefined;

/**
 * Installs a jsdom window's names as globals (once per process): `document`, `window`,
 * `Element`, `NodeList`... Names Node already has (`Event`, `URL`, timers) are kept, and
 * `requestAnimationFrame` is left out so the runtime schedules with `setImmediate`.
 */
export function installDom(): HeadlessDom {
  if (installed) return installed;
  const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', {
    url: 'http://localhost/',
  });
  const { window } = dom;
  for (const name of Object.getOwnPropertyNames(window)) {
    if (name in globalThis || name === 'requestAnimationFrame' || name === 'cancelAnimationFrame') {
      continue;
    }
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get: () => (window as unknown as Record<string, unknown>)[name],
    });
  }
  installed = { window, document: window.document, parser: new window.DOMParser() };
  return installed;
}

/**
 * Wraps Observable Inputs for jsdom. jsdom's forms refuse assignment to accessor properties
 * defined on the form itself (a bug in its legacy-platform-object proxy), which every input
 * widget does for `value`; moving the accessor onto a private prototype makes it work.
 */
export function jsdomInputs(
  inputs: Record<string, unknown>,
  dom: HeadlessDom,
): Record<string, unknown> {
  const Form = dom.window.HTMLFormElement;
  const wrapped: Record<string, unknown> = {};
  for (const [name, widget] of Object.entries(inputs)) {
    wrapped[name] =
      typeof widget !== 'function'
        ? widget
        : (...args: unknown[]) => {
            const define = Object.defineProperty;
            Object.defineProperty = ((
              target: object,
              key: PropertyKey,
              desc: PropertyDescriptor,
            ) => {
              if (!(target instanceof Form) || !(desc.get || desc.set))
                return define(target, key, desc);
              const proto = Object.create(Object.getPrototypeOf(target)) as object;
              define(proto, key, desc);
              Object.setPrototypeOf(target, proto);
              return target;
            }) as typeof Object.defineProperty;
            try {
              return (widget as (...a: unknown[]) => unknown)(...args);
            } finally {
              Object.defineProperty = define;
            }
          };
  }
  return wrapped;
}
