import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { knob, knobFlags, knobShape, knobsFromFlags, trlFields } from './knob.ts';

const FIELDS = {
  size: knob(z.number().int().min(1), 'Size', { flag: 'box-size', value: 'N' }),
  tags: knob(z.array(z.string()).optional(), 'Tags', { flag: 'box-tags' }),
};
const KNOBS = {
  maxGradNorm: knob(z.number().min(0).optional(), 'Clipping', { value: 'C', trl: 'max_grad_norm' }),
  kind: knob(z.enum(['a', 'b']).optional(), 'Kind', { shown: 'a' }),
  seed: knob(z.number().int().default(0), 'Seed'),
  quiet: knob(z.boolean().optional(), 'Quiet'),
  hidden: knob(z.string().optional(), 'Not on the command line', { flag: null }),
  box: knob(z.strictObject(knobShape(FIELDS)).optional(), 'A box', { flag: null, fields: FIELDS }),
};

describe('knobFlags', () => {
  it('names flags in kebab case, lists choices, and fills in only schema defaults', () => {
    expect(knobFlags(KNOBS)).toEqual({
      'max-grad-norm': { type: 'string', value: 'C', description: 'Clipping' },
      kind: { type: 'string', value: 'a|b', description: 'Kind (default: a)' },
      seed: { type: 'string', value: 'VALUE', description: 'Seed', default: '0' },
      quiet: { type: 'boolean', description: 'Quiet' },
      'box-size': { type: 'string', value: 'N', description: 'Size' },
      'box-tags': { type: 'string', value: 'VALUE', description: 'Tags' },
    });
  });
});

describe('knobsFromFlags', () => {
  it('converts and checks each flag, assembling object knobs from their fields', () => {
    const flags = {
      'max-grad-norm': '0.5',
      kind: 'b',
      quiet: true,
      'box-size': '3',
      'box-tags': 'x, y',
    };
    expect(knobsFromFlags(KNOBS, flags)).toEqual({
      maxGradNorm: 0.5,
      kind: 'b',
      seed: 0,
      quiet: true,
      box: { size: 3, tags: ['x', 'y'] },
    });
  });

  it('names the flag of a bad value', () => {
    expect(() => knobsFromFlags(KNOBS, { 'max-grad-norm': 'big' })).toThrow(
      "--max-grad-norm must be a number, got 'big'",
    );
    expect(() => knobsFromFlags(KNOBS, { kind: 'c' })).toThrow(
      "--kind must be one of a|b, got 'c'",
    );
    expect(() => knobsFromFlags(KNOBS, { seed: '1.5' })).toThrow(
      "--seed must be an integer, got '1.5'",
    );
    expect(() => knobsFromFlags(KNOBS, { 'box-size': '0' })).toThrow(
      "--box-size must be >= 1, got '0'",
    );
    expect(() => knobsFromFlags(KNOBS, { 'box-tags': 'x' })).toThrow(
      '--box-size is required with the other box flags',
    );
  });
});

describe('trlFields', () => {
  const context = { conversational: true };

  it('maps the knobs that declare a TRL name, when they have a value', () => {
    expect(trlFields(KNOBS, { maxGradNorm: 0.3, kind: 'a' }, context)).toEqual({
      max_grad_norm: 0.3,
    });
    expect(trlFields(KNOBS, {}, context)).toEqual({});
  });

  it('calls a mapping function with the value, set or not, and the context, in knob order', () => {
    const mapped = {
      steps: knob(z.number().optional(), 'Steps', {
        trl: (n?: number) => ({ max_steps: n ?? -1 }),
      }),
      name: knob(z.string().optional(), 'Name', { trl: 'run_name' }),
      all: knob(z.boolean().optional(), 'All', {
        trl: (all: boolean | undefined, c) => ({ only: c.conversational && !all }),
      }),
    };
    const config = trlFields(mapped, { name: 'x' }, context);
    expect(config).toEqual({ max_steps: -1, run_name: 'x', only: true });
    expect(Object.keys(config)).toEqual(['max_steps', 'run_name', 'only']);
    expect(trlFields(mapped, { steps: 7, all: true }, { conversational: false })).toEqual({
      max_steps: 7,
      only: false,
    });
  });
});
