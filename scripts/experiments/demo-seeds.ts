// How robust the flagship's ladder is across seeds: runs `finemed demo` once per seed and prints
// each stage's accuracy and change per seed, with how often each change was significant.
// Usage: npx tsx scripts/experiments/demo-seeds.ts [--preset demo] [--seeds 1,2,3] [--out DIR]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../src/core/version.ts';
import type { LadderRow } from '../../src/eval/ladder-row.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'demo' },
    seeds: { type: 'string', default: '1,2,3' },
    out: { type: 'string', default: 'finemed-demo' },
  },
});
const seeds = values.seeds.split(',').map(Number);
const ladders: { seed: number; seconds: number; ladder: LadderRow[] }[] = [];
for (const seed of seeds) {
  const run = spawnSync(
    process.execPath,
    [
      join(projectRoot, 'bin', 'finemed.js'),
      'demo',
      '--preset',
      values.preset,
      '--seed',
      String(seed),
      '--out',
      join(values.out, `${values.preset}-seed${seed}`),
      '--json',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
  ladders.push({ seed, seconds: summary.seconds, ladder: summary.ladder });
}
const pct = (x: number): string => `${(100 * x).toFixed(1)}`.padStart(5);
console.log(`stage               ${seeds.map((s) => `seed ${s}: acc  delta     p`).join('  |  ')}`);
for (const [i, rung] of ladders[0].ladder.entries()) {
  const cells = ladders.map(({ ladder }) => {
    const r = ladder[i];
    const delta =
      r.delta === null
        ? '     '
        : `${r.delta >= 0 ? '+' : '-'}${pct(Math.abs(r.delta)).trim()}`.padStart(6);
    const p = r.p === null ? '     ' : r.p.toFixed(3);
    return `${pct(r.acc)}%  ${delta}  ${p}`;
  });
  const significant = ladders.filter(({ ladder }) => (ladder[i].p ?? 1) < 0.05).length;
  console.log(
    `${rung.label.padEnd(19)} ${cells.join('  |  ')}   significant in ${significant}/${seeds.length}`,
  );
}
console.log(
  `wall seconds: ${ladders.map((l) => `seed ${l.seed} ${l.seconds.toFixed(0)}`).join(', ')}`,
);
