import { basename } from 'node:path';
import { JSDOM } from 'jsdom';
import { ArtifactStore } from '../core/artifacts.ts';
import { writeFileAtomic } from '../core/atomic.ts';
import { UsageError } from '../core/errors.ts';
import { finemedHome } from '../core/home.ts';
import { compareStages } from '../eval/compare.ts';
import { ladderSvg } from '../eval/ladder.ts';
import { ladderText } from '../eval/ladder-row.ts';
import { readEvalResult } from '../eval/results.ts';
import { boolFlag, intFlag, stringFlag } from './command.ts';
import type { Command } from './command.ts';
import { jsonFlag, repeatableFlag, valueFlag } from './flags.ts';

/** `finemed compare`: paired statistics between saved evaluation results. */
export const compareCommand: Command = {
  name: 'compare',
  summary: 'Compare saved evaluation results item by item (paired bootstrap, McNemar)',
  positionals: ['RESULT_A', 'RESULT_B'],
  details: [
    'A RESULT is a folder holding summary.json and items.jsonl (an eval artifact or an',
    '`finemed eval --out` folder) or an eval artifact key. B is compared with A on the items both',
    'scored: accuracy difference B - A with a paired-bootstrap 95% interval, the discordant',
    "counts b (A right, B wrong) and c (A wrong, B right), and McNemar's exact p-value.",
    'With --then, further results extend the chain (base -> SFT -> DPO -> ...), each compared',
    'with the one before it; --svg writes the gain-ladder chart.',
  ].join('\n'),
  flags: {
    then: repeatableFlag('RESULT', 'A further stage after RESULT_B (repeatable)'),
    labels: valueFlag('A,B,...', 'Stage names, comma-separated'),
    seed: valueFlag('N', 'Bootstrap seed', '0'),
    resamples: valueFlag('N', 'Bootstrap resamples', '2000'),
    svg: valueFlag('FILE', 'Write the gain-ladder chart as SVG'),
    json: jsonFlag,
  },
  async run(ctx) {
    const then = (ctx.flags.then as string[] | undefined) ?? [];
    const paths = [...ctx.args, ...then];
    const labelFlag = stringFlag(ctx, 'labels');
    const labels = labelFlag
      ? labelFlag.split(',').map((l) => l.trim())
      : paths.map((p) => basename(p));
    if (labels.length !== paths.length) {
      throw new UsageError(
        `--labels names ${labels.length} stages but ${paths.length} results were given`,
      );
    }
    const seed = intFlag(ctx, 'seed') ?? 0;
    const resamples = intFlag(ctx, 'resamples', { min: 100 }) ?? 2000;
    const store = new ArtifactStore(finemedHome());
    const results = await Promise.all(paths.map((p) => readEvalResult(p, store)));
    const first = results[0].summary;
    for (const [i, { summary }] of results.entries()) {
      if (summary.bench !== first.bench || summary.format !== first.format) {
        ctx.stderr.write(
          `finemed: warning: ${labels[i]} was scored on ${summary.bench} (${summary.format}), ${labels[0]} on ${first.bench} (${first.format})\n`,
        );
      }
    }
    const rows = compareStages(
      results.map((r, i) => ({ label: labels[i], records: r.records })),
      { seed, resamples },
    );
    const svgPath = stringFlag(ctx, 'svg');
    if (svgPath) {
      const { document } = new JSDOM('').window;
      await writeFileAtomic(svgPath, ladderSvg(rows, { document }).outerHTML + '\n');
    }
    const pair = rows[1];
    const onlyA = results[0].records.length - (pair.paired ?? 0);
    const onlyB = results[1].records.length - (pair.paired ?? 0);
    if (onlyA > 0 || onlyB > 0) {
      ctx.stderr.write(
        `finemed: note: ${onlyA} item(s) only in ${labels[0]}, ${onlyB} only in ${labels[1]}; the paired statistics use the ${pair.paired} shared\n`,
      );
    }
    if (boolFlag(ctx, 'json')) {
      ctx.stdout.write(
        JSON.stringify({
          n_paired: pair.paired,
          accuracy_a: rows[0].acc,
          accuracy_b: pair.acc,
          delta: pair.delta,
          ci95: [pair.deltaLo, pair.deltaHi],
          b: pair.b,
          c: pair.c,
          p_mcnemar: pair.p,
          only_a: onlyA,
          only_b: onlyB,
          seed,
          resamples,
          stages: rows,
          ...(svgPath ? { svg: svgPath } : {}),
        }) + '\n',
      );
      return;
    }
    ctx.stdout.write(ladderText(rows) + '\n');
  },
};
