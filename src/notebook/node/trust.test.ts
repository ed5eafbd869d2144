import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../core/hash.ts';
import { NotebookTrust } from './trust.ts';

function setup(): { home: string; trusted: string; trust: NotebookTrust } {
  const root = mkdtempSync(join(tmpdir(), 'finemed-trust-'));
  const trusted = join(root, 'notebooks');
  mkdirSync(trusted);
  return {
    home: join(root, 'home'),
    trusted,
    trust: new NotebookTrust(join(root, 'home'), [trusted]),
  };
}

describe('NotebookTrust', () => {
  it('trusts notebooks inside a trusted folder, and nothing that only looks like one', async () => {
    const { trusted, trust } = setup();
    expect(await trust.isTrusted(join(trusted, 'flagship.html'), 'x')).toBe(true);
    expect(await trust.isTrusted(join(trusted, 'sub', 'a.html'), 'x')).toBe(true);
    expect(await trust.isTrusted(join(trusted, '..', 'evil.html'), 'x')).toBe(false);
    expect(await trust.isTrusted(`${trusted}-copy/a.html`, 'x')).toBe(false);
  });

  it('trust(text) trusts that exact text; an edit makes it untrusted again', async () => {
    const { home, trust } = setup();
    const path = join(home, '..', 'mine.html');
    expect(await trust.isTrusted(path, 'const a = 1;')).toBe(false);
    await trust.trust('const a = 1;');
    expect(await trust.isTrusted(path, 'const a = 1;')).toBe(true);
    expect(await trust.isTrusted(path, 'const a = 2;')).toBe(false);
    expect(JSON.parse(readFileSync(trust.file, 'utf8'))).toEqual([sha256('const a = 1;')]);
  });

  it('compares folders by real path: a symlink in a trusted folder does not lend it trust', async () => {
    const { home, trusted, trust } = setup();
    const outside = join(home, '..', 'downloads');
    mkdirSync(outside);
    writeFileSync(join(outside, 'evil.html'), 'x');
    symlinkSync(join(outside, 'evil.html'), join(trusted, 'evil.html'));
    expect(await trust.isTrusted(join(trusted, 'evil.html'), 'x')).toBe(false);
    // A trusted folder reached through a symlink is still that folder.
    symlinkSync(trusted, join(outside, 'project'));
    expect(await trust.isTrusted(join(outside, 'project', 'a.html'), 'x')).toBe(true);
  });
});
