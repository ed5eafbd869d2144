import { describe, expect, it } from 'vitest';
import { findKnobs, setKnobDefaults } from './knobs.ts';

describe('findKnobs', () => {
  it('finds the Inputs calls given to view, in source order, and nothing else', () => {
    const source = [
      "const lr = view(Inputs.range([0, 1], { label: 'lr', value: 0.5 }));",
      'const n = Inputs.number(); // displayed, not a view',
      "const mode = view(Inputs.radio(['a', 'b']));",
    ].join('\n');
    expect(findKnobs(source).map((k) => [k.kind, source.slice(k.start, k.start + 12)])).toEqual([
      ['range', 'Inputs.range'],
      ['radio', 'Inputs.radio'],
    ]);
    expect(findKnobs('const x = (')).toEqual([]);
  });
});

describe('setKnobDefaults', () => {
  const cases: [string, string, unknown, string][] = [
    [
      'range with value',
      "const lr = view(Inputs.range([0, 1], { label: 'lr', value: 0.5, step: 0.1 }));",
      0.7,
      "const lr = view(Inputs.range([0, 1], { label: 'lr', value: 0.7, step: 0.1 }));",
    ],
    [
      'range without options',
      'const k = view(Inputs.range([1, 8]));',
      3,
      'const k = view(Inputs.range([1, 8], { value: 3 }));',
    ],
    [
      'select without value',
      "const m = view(Inputs.select(['a', 'b'], { label: 'M' }));",
      'b',
      "const m = view(Inputs.select(['a', 'b'], { label: 'M', value: 'b' }));",
    ],
    [
      'radio with an expression as value',
      "const s = view(Inputs.radio(['tiny', 'demo'], { value: preset === 'tiny' ? 'tiny' : 'demo' }));",
      'demo',
      "const s = view(Inputs.radio(['tiny', 'demo'], { value: 'demo' }));",
    ],
    [
      'checkbox (an array value)',
      "const c = view(Inputs.checkbox(['x', 'y', 'z'], { value: ['x'] }));",
      ['y', 'z'],
      "const c = view(Inputs.checkbox(['x', 'y', 'z'], { value: ['y', 'z'] }));",
    ],
    [
      'text without arguments, quotes escaped',
      'const t = view(Inputs.text());',
      'it\'s "here"\n',
      "const t = view(Inputs.text({ value: 'it\\'s \"here\"\\n' }));",
    ],
    [
      'number with empty options',
      'const seed = view(Inputs.number({}));',
      7,
      'const seed = view(Inputs.number({ value: 7 }));',
    ],
    [
      'number after a spread (the saved value wins)',
      'const x = view(Inputs.number({ ...defaults }));',
      2e-5,
      'const x = view(Inputs.number({ ...defaults, value: 0.00002 }));',
    ],
    [
      "toggle with a quoted 'value' key",
      "const on = view(Inputs.toggle({ 'value': false, label: 'On' }));",
      true,
      "const on = view(Inputs.toggle({ 'value': true, label: 'On' }));",
    ],
  ];
  it.each(cases)('%s', (_name, source, value, expected) => {
    expect(setKnobDefaults(source, [value])).toBe(expected);
    // The rewritten source has the same knobs and reads the value back.
    expect(findKnobs(expected).length).toBe(1);
  });

  it('rewrites several knobs in one cell, leaving the undefined ones and all else alone', () => {
    const source = [
      '// knobs',
      'const a = view(Inputs.range([0, 1], { value: 0.1 }));',
      'const b = view(Inputs.range([0, 1], { value: 0.2 }));',
      'const c = view(Inputs.range([0, 1]));',
    ].join('\n');
    expect(setKnobDefaults(source, [0.5, undefined, 1])).toBe(
      [
        '// knobs',
        'const a = view(Inputs.range([0, 1], { value: 0.5 }));',
        'const b = view(Inputs.range([0, 1], { value: 0.2 }));',
        'const c = view(Inputs.range([0, 1], { value: 1 }));',
      ].join('\n'),
    );
  });

  it('refuses values it cannot write, naming the knob', () => {
    const source = 'const a = view(Inputs.number({ value: 1 }));';
    expect(() => setKnobDefaults(source, [Number.NaN])).toThrow(
      'knob 1 (Inputs.number): NaN is not a finite number',
    );
    expect(() => setKnobDefaults(source, [{ a: 1 }])).toThrow(
      'knob 1 (Inputs.number): cannot write {"a":1} into the source',
    );
    expect(() => setKnobDefaults(source, [1, 2])).toThrow('2 knob values for a cell with 1 knobs');
  });
});
