// Browser-safe: how a cell declares the tolerance `finemed verify` allows its numbers.
import { InputError } from '../core/errors.ts';

/** Two numbers agree when |a - b| <= abs + rel * |a|. */
export interface Tolerance {
  /** Absolute tolerance. */
  abs: number;
  /** Relative tolerance (a fraction of the recorded value). */
  rel: number;
}

/** Exact agreement, the default for every cell. */
export const EXACT: Tolerance = { abs: 0, rel: 0 };

const PRAGMA = /^\s*\/\/\s*@tolerance\b(.*)$/;

/**
 * The tolerance a cell declares with a line comment, e.g. `// @tolerance 1e-6` (absolute) or
 * `// @tolerance abs=1e-6 rel=1e-3`; undefined when it declares none.
 */
export function cellTolerance(
  source: string,
  where: { file?: string; cell?: number } = {},
): Tolerance | undefined {
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = PRAGMA.exec(lines[i]);
    if (!match) continue;
    const tolerance = { ...EXACT };
    const fail = (reason: string): never => {
      throw new InputError(
        `${reason} (write '// @tolerance 1e-6' or '// @tolerance abs=1e-6 rel=1e-3')`,
        {
          file: where.file,
          field: where.cell === undefined ? '@tolerance' : `cell ${where.cell}: @tolerance`,
        },
      );
    };
    const words = match[1].trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) fail('a tolerance needs a value');
    for (const word of words) {
      const [name, raw] = word.includes('=') ? word.split('=', 2) : ['abs', word];
      const value = Number(raw);
      if (!(name === 'abs' || name === 'rel')) fail(`unknown tolerance '${name}'`);
      if (raw === '' || !Number.isFinite(value) || value < 0)
        fail(`'${raw}' is not a non-negative number`);
      tolerance[name as keyof Tolerance] = value;
    }
    return tolerance;
  }
  return undefined;
}

/** Whether `actual` reproduces `expected` within `tolerance`. */
export function withinTolerance(expected: number, actual: number, tolerance: Tolerance): boolean {
  if (Object.is(expected, actual)) return true;
  return Math.abs(expected - actual) <= tolerance.abs + tolerance.rel * Math.abs(expected);
}
