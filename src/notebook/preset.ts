// Browser-safe: the presets a notebook may run with (DESIGN.md: tiny, demo, paper).

/** The presets the project's notebooks understand. */
export const PRESETS = ['tiny', 'demo', 'paper'] as const;

/** The preset a notebook runs with when none is chosen (the default main job's). */
export const DEFAULT_PRESET = 'demo';

/** The run seed cells see as `runSeed` when none is chosen (`finemed run --seed N` sets it). */
export const DEFAULT_RUN_SEED = 1;
