import { describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.ts';
import { cellTolerance, withinTolerance } from './tolerance.ts';

describe('cellTolerance(source)', () => {
  it('reads an absolute tolerance, or named abs and rel ones', () => {
    expect(cellTolerance('// @tolerance 1e-6\nconst x = 1;')).toEqual({ abs: 1e-6, rel: 0 });
    expect(cellTolerance('const x = 1;\n  //   @tolerance rel=0.01 abs=2')).toEqual({
      abs: 2,
      rel: 0.01,
    });
  });

  it('is undefined when the cell declares none', () => {
    expect(cellTolerance('const tolerance = 3; // not a pragma')).toBeUndefined();
  });

  it('rejects a malformed declaration with an InputError naming the cell', () => {
    const bad = (): unknown => cellTolerance('// @tolerance abs=-1', { file: 'nb.html', cell: 4 });
    expect(bad).toThrow(InputError);
    expect(bad).toThrow("nb.html: cell 4: @tolerance: '-1' is not a non-negative number");
    expect(() => cellTolerance('// @tolerance')).toThrow('needs a value');
    expect(() => cellTolerance('// @tolerance ulp=1')).toThrow("unknown tolerance 'ulp'");
  });
});

describe('withinTolerance(expected, actual, tolerance)', () => {
  it('accepts |a - b| <= abs + rel * |a| and nothing more', () => {
    expect(withinTolerance(1, 1, { abs: 0, rel: 0 })).toBe(true);
    expect(withinTolerance(1, 1 + 1e-12, { abs: 0, rel: 0 })).toBe(false);
    expect(withinTolerance(100, 101, { abs: 0, rel: 0.01 })).toBe(true);
    expect(withinTolerance(100, 101.5, { abs: 0.4, rel: 0.01 })).toBe(false);
    expect(withinTolerance(NaN, NaN, { abs: 0, rel: 0 })).toBe(true);
  });
});
