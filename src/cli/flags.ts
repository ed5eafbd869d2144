// How flags are declared for `--help` and the argument parser; command.ts reads their values.

/** One flag of a command. */
export interface FlagSpec {
  /** `string` flags take a value; `boolean` flags are switches. */
  type: 'string' | 'boolean';
  /** What the flag does, shown by `--help`. */
  description: string;
  /** Placeholder for the value in help, e.g. `DIR`. */
  value?: string;
  /** The value when the flag is absent (as text, for string flags). */
  default?: string | boolean;
  /** The flag may be given several times. */
  multiple?: boolean;
}

/** A flag that takes a value: its placeholder in help (`DIR`, `N`), what it does, its default. */
export function valueFlag(value: string, description: string, fallback?: string): FlagSpec {
  return {
    type: 'string',
    value,
    description,
    ...(fallback === undefined ? {} : { default: fallback }),
  };
}

/** A value flag that may be given several times (its values arrive as a list). */
export function repeatableFlag(value: string, description: string): FlagSpec {
  return { type: 'string', value, description, multiple: true };
}

/** A switch: present or not. */
export function switchFlag(description: string): FlagSpec {
  return { type: 'boolean', description };
}

// The flags below mean the same in every command that has them, so they are worded once.

/** `--json`, worded alike in every command's help. */
export const jsonFlag = switchFlag('Print one JSON object on the last line');

/** `--threads N`: ONNX Runtime's intra-op threads. */
export const threadsFlag = valueFlag('N', 'ONNX Runtime threads (default: all cores)');

/** `--threads N` of a benchmark against PyTorch: both sides get the same. */
export const bothSidesThreadsFlag = valueFlag('N', 'Threads for both sides (default: all cores)');

/** `--no-torch`: a benchmark without its PyTorch baseline. */
export const noTorchFlag = switchFlag('Skip the PyTorch baseline');
