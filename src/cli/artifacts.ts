import { ArtifactStore } from '../core/artifacts.ts';
import { finemedHome } from '../core/home.ts';
import type { SweepReport } from '../core/sweep.ts';
import { boolFlag, stringFlag } from './command.ts';
import type { Command, CommandContext } from './command.ts';
import { switchFlag, valueFlag } from './flags.ts';

/** `finemed artifacts`: lists finished work in the artifact store. */
export const artifactsCommand: Command = {
  name: 'artifacts',
  summary: 'List datasets, checkpoints and results in the artifact store',
  details:
    'The store is $FINEMED_HOME (default ~/.finemed). Each artifact is keyed by a hash of its recipe.',
  flags: {
    kind: valueFlag('KIND', 'Only this kind (dataset, checkpoint, eval, ...)'),
    json: switchFlag('Print one JSON object per artifact'),
    sweep: switchFlag(
      'Delete temporary folders whose job is gone (those of running jobs, in any process, stay)',
    ),
    'sweep-resumable': switchFlag(
      'Sweep, and also delete the checkpoints interrupted jobs would resume from',
    ),
  },
  async run(ctx) {
    const store = new ArtifactStore(finemedHome());
    const resumable = boolFlag(ctx, 'sweep-resumable');
    if (resumable || boolFlag(ctx, 'sweep')) printSweep(ctx, await store.sweep({ resumable }));
    const artifacts = await store.list(stringFlag(ctx, 'kind'));
    for (const { dir, meta } of artifacts) {
      if (boolFlag(ctx, 'json')) {
        ctx.stdout.write(
          JSON.stringify({
            kind: meta.kind,
            key: meta.key,
            dir,
            createdAt: meta.createdAt,
            summary: meta.summary,
          }) + '\n',
        );
      } else {
        ctx.stdout.write(
          `${meta.kind.padEnd(12)} ${meta.key}  ${meta.createdAt}  ${dir}${provenanceNote(meta.summary)}\n`,
        );
      }
    }
    if (artifacts.length === 0 && !boolFlag(ctx, 'json'))
      ctx.stderr.write(`no artifacts in ${store.root}\n`);
  },
};

/** For a model imported with `finemed import`: the export bundle it came from, or that none is known. */
function provenanceNote(summary: unknown): string {
  if (!summary || typeof summary !== 'object' || !('provenance' in summary)) return '';
  const bundle = (summary as { bundle?: { hash?: unknown } | null }).bundle;
  return typeof bundle?.hash === 'string' ? `  bundle ${bundle.hash}` : '  bundle unknown';
}

function printSweep(ctx: CommandContext, report: SweepReport): void {
  for (const { path, reason } of report.removed) ctx.stderr.write(`removed ${path}: ${reason}\n`);
  for (const { path, reason, resumable } of report.kept) {
    const hint = resumable ? ' (a re-run resumes from them; --sweep-resumable deletes them)' : '';
    ctx.stderr.write(`kept    ${path}: ${reason}${hint}\n`);
  }
  ctx.stderr.write(
    `swept: removed ${report.removed.length} folder(s), kept ${report.kept.length}\n`,
  );
}
