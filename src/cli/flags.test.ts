import { describe, expect, it } from 'vitest';
import { commands } from './commands.ts';
import { switchFlag, valueFlag } from './flags.ts';
import { commandHelp } from './main.ts';

describe('valueFlag / switchFlag', () => {
  it('give the parser a default only when there is one', () => {
    expect(valueFlag('N', 'Rounds', '3')).toEqual({
      type: 'string',
      value: 'N',
      description: 'Rounds',
      default: '3',
    });
    // An explicit `default: undefined` would still reach parseArgs' option spread.
    expect(valueFlag('DIR', 'Model folder')).not.toHaveProperty('default');
    expect(switchFlag('Skip it')).toEqual({ type: 'boolean', description: 'Skip it' });
  });
});

describe('every command', () => {
  it.each(commands.map((c) => [c.name, c] as const))(
    '%s: --help names each flag, its placeholder, what it does and its default',
    (_, command) => {
      const help = commandHelp(command);
      const lines = help.slice(help.indexOf('\nFlags:\n')).split('\n');
      for (const [name, spec] of Object.entries(command.flags)) {
        const left = spec.type === 'string' ? `--${name} ${spec.value}` : `--${name}`;
        const line = lines.find((l) => l.trimStart().startsWith(`${left} `));
        expect(line, `--${name}`).toBeDefined();
        expect(spec.description.trim(), `--${name}`).not.toBe('');
        expect(line).toContain(spec.description);
        if (typeof spec.default === 'string') expect(line).toContain(`(default: ${spec.default})`);
      }
    },
  );
});
