import { ArtifactStore } from '../core/artifacts.ts';
import { finemedHome } from '../core/home.ts';
import { boolFlag, stringFlag, type Command } from './command.ts';

/** `finemed artifacts`: lists finished work in the artifact store. */
export const artifactsCommand: Command = {
  name: 'artifacts',
  summary: 'List datasets, checkpoints and results in the artifact store',
  details:
    'The store is $FINEMED_HOME (default ~/.finemed). Each artifact is keyed by a hash of its recipe.',
  flags: {
    kind: {
      type: 'string',
      value: 'KIND',
      description: 'Only this kind (dataset, checkpoint, eval, ...)',
    },
    json: { type: 'boolean', description: 'Print one JSON object per artifact' },
    sweep: { type: 'boolean', description: 'Delete temporary folders left by interrupted jobs' },
  },
  async run(ctx) {
    const store = new ArtifactStore(finemedHome());
    if (boolFlag(ctx, 'sweep'))
      ctx.stderr.write(`swept ${await store.sweep()} temporary folder(s)\n`);
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
        ctx.stdout.write(`${meta.kind.padEnd(12)} ${meta.key}  ${meta.createdAt}  ${dir}\n`);
      }
    }
    if (artifacts.length === 0 && !boolFlag(ctx, 'json'))
      ctx.stderr.write(`no artifacts in ${store.root}\n`);
  },
};
