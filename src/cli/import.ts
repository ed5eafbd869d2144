import { copyFile, mkdir, readdir, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ArtifactStore } from '../core/artifacts.ts';
import { tempPathFor } from '../core/atomic.ts';
import { UsageError } from '../core/errors.ts';
import { finemedHome } from '../core/home.ts';
import { terminalProgress } from '../core/progress.ts';
import { importModelJob } from '../kernel/jobs/import.ts';
import { Kernel } from '../kernel/kernel.ts';
import { boolFlag, requiredFlag, stringFlag } from './command.ts';
import type { Command } from './command.ts';
import { jsonFlag, switchFlag, valueFlag } from './flags.ts';

/** What `model.import` says about the model it made. */
interface ImportSummary {
  mode: string;
  weights: string;
  parameters: number;
  bundle: {
    hash: string;
    sources: Record<string, string>;
    intact?: boolean;
    baseMatches?: boolean;
  } | null;
  provenance: string;
}

/** `finemed import`: a checkpoint or PEFT adapter trained elsewhere, back into the store. */
export const importCommand: Command = {
  name: 'import',
  summary: 'Import a checkpoint or PEFT adapter trained elsewhere (TRL) as a checkpoint artifact',
  details: [
    '--from DIR is a Hugging Face checkpoint folder (config.json, model.safetensors or shards with',
    'model.safetensors.index.json, tokenizer files), copied as stored; or, with --base, a PEFT LoRA',
    'adapter folder, merged into the base (W + scale·B·A in float32, written as float32: rounding',
    'to bfloat16 would erase updates below half a step of W and move the logits away from base +',
    'adapter).',
    '--keep-adapter also keeps the adapter, in PEFT layout, under adapter/ (as a LoRA stage trained',
    'here does). The artifact (kind checkpoint) is keyed by the files read; its provenance is the',
    'export bundle: finemed-bundle.json, which the exported train.py leaves in its output folder,',
    'or --bundle DIR (a bundle folder with manifest.json). Without one the provenance is unknown.',
    'The model is also copied to --out, with meta.json, so `finemed eval --model OUT` names it.',
  ].join('\n'),
  flags: {
    from: valueFlag('DIR', 'Checkpoint or PEFT adapter folder'),
    out: valueFlag('DIR', 'Folder to copy the imported model to'),
    base: valueFlag('DIR', 'The model the adapter was trained on (DIR is an adapter)'),
    'keep-adapter': switchFlag('Keep the adapter under adapter/ beside the merged weights'),
    bundle: valueFlag(
      'DIR',
      'The export bundle that produced it (default: DIR/finemed-bundle.json)',
    ),
    json: jsonFlag,
  },
  async run(ctx) {
    const from = requiredFlag(ctx, 'from');
    const out = resolve(requiredFlag(ctx, 'out'));
    const base = stringFlag(ctx, 'base');
    // Files of an earlier model left in --out would mix with this one's (a stale shard index wins).
    if ((await readdir(out).catch(() => [])).length > 0)
      throw new UsageError(`--out must be a new or empty folder: ${out} has files`);
    if (boolFlag(ctx, 'keep-adapter') && !base)
      throw new UsageError('--keep-adapter needs --base (DIR must be a PEFT adapter)');
    const kernel = new Kernel({ store: new ArtifactStore(finemedHome()), jobs: [importModelJob] });
    const progress = terminalProgress(ctx.stderr);
    const job = kernel.run(
      'model.import',
      {
        from,
        ...(base ? { base } : {}),
        keepAdapter: boolFlag(ctx, 'keep-adapter'),
        ...(stringFlag(ctx, 'bundle') ? { bundle: stringFlag(ctx, 'bundle') } : {}),
      },
      { onEvent: (e) => e.type === 'progress' && progress(e.event) },
    );
    const stop = (): void => job.detach(true);
    ctx.signal.addEventListener('abort', stop);
    try {
      const result = await job.result.finally(progress.done);
      const dir = kernel.store.dir(result.artifact.kind, result.artifact.key);
      for (const name of [...result.files.map((f) => f.name), 'meta.json'])
        await copyAtomic(join(dir, name), join(out, name));
      const summary = result.summary as ImportSummary;
      if (boolFlag(ctx, 'json')) {
        ctx.stdout.write(
          JSON.stringify({
            ...summary,
            artifact: result.artifact,
            dir,
            out,
            reused: result.reused,
          }) + '\n',
        );
        return;
      }
      ctx.stdout.write(
        `imported ${summary.mode} (${summary.parameters.toLocaleString('en-US')} parameters, ` +
          `weights ${summary.weights})\nartifact: checkpoint ${result.artifact.key}` +
          `${result.reused ? ' (reused)' : ''}\ncopied to: ${out}\n`,
      );
      ctx.stdout.write(
        summary.bundle
          ? `provenance: export bundle ${summary.bundle.hash} (${
              Object.entries(summary.bundle.sources)
                .map(([role, key]) => `${role} ${key}`)
                .join(', ') || 'no sources listed'
            })${intactNote(summary.bundle.intact)}${
              summary.bundle.baseMatches === false
                ? `; WARNING: it was exported from model ${summary.bundle.sources.model}, not this --base`
                : ''
            }\n`
          : `provenance: ${summary.provenance}\n`,
      );
    } finally {
      ctx.signal.removeEventListener('abort', stop);
      await kernel.close();
    }
  },
};

async function copyAtomic(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const tmp = tempPathFor(to);
  await copyFile(from, tmp);
  await rename(tmp, to);
}

function intactNote(intact: boolean | undefined): string {
  if (intact === undefined) return '';
  return intact
    ? '; the bundle folder matches its manifest'
    : "; WARNING: the bundle folder's files no longer hash to its manifest (edited since export?)";
}
