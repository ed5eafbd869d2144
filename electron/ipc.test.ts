import { describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.ts';
import { bridgeOperations, bridgeShellCalls } from '../src/ui/app/bridge.ts';
import { ipcCallNames, isAppFrame, validateIpc } from './ipc.ts';

describe('validateIpc(name, payload)', () => {
  it('accepts a well-formed call of every kind', () => {
    expect(validateIpc('notebook.open', { path: '/home/u/n.html' })).toEqual({
      kind: 'operation',
      name: 'notebook.open',
      payload: { path: '/home/u/n.html' },
    });
    expect(validateIpc('kernel.connect', { restart: true })).toEqual({
      kind: 'shell',
      name: 'kernel.connect',
      payload: { restart: true },
    });
    expect(validateIpc('notebooks.list', undefined).payload).toEqual({});
  });

  it('rejects a malformed payload with an error naming the call and the field', () => {
    const wrongType = (): unknown => validateIpc('notebook.save', { path: '/x.html', text: 3 });
    expect(wrongType).toThrow(InputError);
    expect(wrongType).toThrow(
      /^text: notebook\.save: Invalid input: expected string, received number$/,
    );
    expect(() => validateIpc('notebook.trust', { path: '/x.html', sha256: 'abc' })).toThrow(
      'sha256: notebook.trust: expected a hex SHA-256',
    );
    expect(() => validateIpc('window.setDirty', { dirty: 'yes' })).toThrow(
      /^dirty: window\.setDirty: /,
    );
    expect(() => validateIpc('notebook.open', {})).toThrow(/^path: notebook\.open: /);
  });

  it('rejects extra fields, so a payload cannot smuggle options past the schema', () => {
    expect(() => validateIpc('kernel.connect', { restart: false, exec: 'rm -rf /' })).toThrow(
      /kernel\.connect: Unrecognized key: "exec"/,
    );
  });

  it('refuses `trusted` on a save: trust is the host’s decision, never the page’s', () => {
    expect(() =>
      validateIpc('notebook.save', { path: '/x.html', text: '', trusted: true }),
    ).toThrow('trusted: notebook.save: Unrecognized key: "trusted"');
    expect(validateIpc('notebook.create', { title: ' Rounds ' }).payload).toEqual({
      title: 'Rounds',
    });
    expect(() => validateIpc('notebook.create', { title: '  ' })).toThrow(/^title: /);
    expect(validateIpc('notebook.rename', { path: '/n/a.html', name: 'b' }).name).toBe(
      'notebook.rename',
    );
  });

  it('rejects a call that is not on the allow-list', () => {
    expect(() => validateIpc('shell.openExternal', { url: 'https://evil.example' })).toThrow(
      "unknown IPC call 'shell.openExternal'",
    );
  });

  it('covers exactly the calls the preload bridge exposes', () => {
    const bridged = [...Object.values(bridgeOperations), ...Object.values(bridgeShellCalls)];
    expect([...ipcCallNames].sort()).toEqual([...bridged].sort());
  });
});

describe('isAppFrame(url)', () => {
  it("trusts only the app's own scheme", () => {
    expect(isAppFrame('finemed-app://app/index.html')).toBe(true);
    expect(isAppFrame('https://finemed-app.example/index.html')).toBe(false);
    expect(isAppFrame('file:///tmp/index.html')).toBe(false);
    expect(isAppFrame(undefined)).toBe(false);
  });
});
